"""f1's eval harness: public benchmarks (BFCL, Seal-Tools, NESTFUL, ParallelQA/Movie) scored by their own rules.

`f1 eval SUITE` loads a suite, runs a predictor (the engine, the plain model, or the ground-truth oracle) over its
items with resume, scores each item and writes report.json, report.md and plots. Nothing in f1's core imports this.
"""

"""The joiner: answer from the results, or replan."""

from f1.joiner.joiner import Decision, Joined, Joiner

__all__ = ["Decision", "Joined", "Joiner"]

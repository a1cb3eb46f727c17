"""A small FastAPI app for the OpenAPI source tests (no `from __future__ import annotations`: FastAPI reads the
annotations at run time)."""

from typing import Any

from fastapi import FastAPI, Header, HTTPException
from fastapi.responses import JSONResponse
from pydantic import BaseModel


class Pet(BaseModel):
    id: int
    name: str
    tag: str | None = None


def pet_app() -> FastAPI:
    """A fresh app with one pet, Rex."""
    app = FastAPI(title="pets")
    pets: dict[int, dict[str, Any]] = {1: {"id": 1, "name": "Rex", "tag": "dog"}}

    @app.get("/pets", operation_id="listPets", summary="List pets")
    def list_pets(limit: int = 10, tag: str | None = None) -> list[Pet]:
        return [Pet(**pet) for pet in pets.values() if tag is None or pet["tag"] == tag][:limit]

    @app.get("/pets/{pet_id}", operation_id="getPet", summary="One pet by id")
    def get_pet(pet_id: int) -> Pet:
        if pet_id not in pets:
            raise HTTPException(status_code=404, detail=f"no pet {pet_id}")
        return Pet(**pets[pet_id])

    @app.post("/pets", operation_id="createPet", status_code=201)
    def create_pet(pet: Pet, x_owner: str = Header()) -> Pet:
        pets[pet.id] = {**pet.model_dump(), "tag": x_owner}
        return Pet(**pets[pet.id])

    @app.delete("/pets/{pet_id}", operation_id="deletePet", status_code=204)
    def delete_pet(pet_id: int) -> None:
        pets.pop(pet_id, None)

    @app.get("/count", operation_id="countPets", responses={200: {"content": {"application/json": {"schema": {"type": "integer"}}}}})
    def broken_count() -> JSONResponse:
        return JSONResponse("not a number")  # breaks its own documented schema

    return app

"""Every domain error has a stable code and status, and the API turns each into that JSON error."""

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

import pipeline.errors as errors_module
from api import errors as api_errors
from pipeline.errors import ALL_ERRORS, MemosError


def all_subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from all_subclasses(sub)


def test_every_error_class_is_listed_with_a_unique_code():
    defined = {c for c in all_subclasses(MemosError) if c.__module__ == errors_module.__name__}
    assert defined == set(ALL_ERRORS)
    codes = [c.code for c in ALL_ERRORS]
    assert len(codes) == len(set(codes))
    assert all(400 <= c.status < 600 for c in ALL_ERRORS)


@pytest.mark.parametrize("error", ALL_ERRORS, ids=lambda c: c.__name__)
def test_the_api_answers_each_error_with_its_status_and_code(error):
    app = FastAPI()
    api_errors.install(app)

    @app.get("/boom")
    def boom():
        raise error("what went wrong")

    response = TestClient(app, raise_server_exceptions=False).get("/boom")
    assert response.status_code == error.status
    assert response.json() == {"error": {"code": error.code, "message": "what went wrong"}}

"""The REST API alone (no NiceGUI pages or middlewares) on uvicorn, for `bench_orthanc`'s split
of where a render request's time goes. Run: ``python -m benchmarks.api_server PORT``; settings
from the environment, as `labelstack serve`."""

from __future__ import annotations

import sys

import uvicorn
from fastapi import FastAPI

from labelstack import api
from labelstack.app import prepare
from labelstack.config import load_settings


def main(port: int) -> None:
    prepare(load_settings())
    app = FastAPI()
    api.install(app)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main(int(sys.argv[1]))

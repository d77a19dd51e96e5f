"""`voice demo-services`: the example brands' services on loopback, until Ctrl-C."""

from __future__ import annotations

import argparse

from aiohttp import web

from ..services.demo import DEMO_HOST, DEMO_PORT, demo_app
from ..services.policy import ALLOW_PRIVATE_ENV
from ..services.secrets import load_secret, secret_env_var
from .common import load_skills, project_of


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=DEMO_PORT, help=f"default {DEMO_PORT}")


def run(args: argparse.Namespace) -> int:
    catalog = load_skills(project_of(args))
    names = [f"/{s.id}/{n}" for s in catalog.skills for n in s.services]
    variables = sorted({secret_env_var(s.id) for s in catalog.skills if s.services})
    for skill in catalog.skills:
        if skill.services:
            load_secret(skill.id)  # a one-line error naming the variable to set
    print(f"serving {', '.join(names)} on http://{DEMO_HOST}:{args.port}", flush=True)
    print(
        f"the assistant needs {ALLOW_PRIVATE_ENV}=1 and the same {', '.join(variables)} "
        "as this process",
        flush=True,
    )
    web.run_app(demo_app(catalog), host=DEMO_HOST, port=args.port, print=None)
    return 0

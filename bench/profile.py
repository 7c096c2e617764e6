"""Where the Python time of one request goes: each endpoint is requested through the Flask test client
against the bench database (as in bench/queries.py), N warm requests in each of 5 batches, and optionally
profiled with cProfile. It prints the process's CPU time per request (this machine's wall clock is
noisy; database time is not included), the lowest batch, the wall time of that batch, and the Python
function calls per request (steadier than either).

    python -m bench.profile --db postgresql|sqlite [--n 200] [--profile "contacts list"] [--top 30]

With --layers, each endpoint is measured three ways, to split its cost: /healthz (Flask, the ORM session
and one query, no sign-in), the endpoint with its view replaced by one that returns "ok" (adds the
session cookie, sign-in, the workspace wall and the response hooks), and the endpoint itself (adds the
view: its queries and its template).
"""

import argparse
import cProfile
import pstats
import time

from bench.common import WHALE_EMAIL
from bench.queries import make_app, sign_in
from bench.target import Endpoint, endpoints, find_target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--profile", help="endpoint name to run under cProfile")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--only", action="append", help="measure only this endpoint (repeatable)")
    parser.add_argument("--layers", action="store_true", help="split each endpoint's CPU into layers")
    args = parser.parse_args()
    target, app = find_target(args.db), make_app(args.db)
    from crm.extensions import db

    with app.app_context():
        engine = db.engine
    client = app.test_client()
    sign_in(client, engine, WHALE_EMAIL)
    for endpoint in endpoints(target):
        if endpoint.baseline or (args.profile and endpoint.name != args.profile):
            continue
        if args.only and endpoint.name not in args.only:
            continue
        if args.layers:
            _layers(app, client, endpoint, args.n)
            continue
        for _ in range(5):
            client.get(endpoint.path, headers=endpoint.headers)
        profiler = cProfile.Profile() if args.profile else None
        if profiler:
            profiler.enable()
        cpu, wall = min(_batch(client, endpoint, args.n) for _ in range(1 if profiler else 5))
        if profiler:
            profiler.disable()
        calls = _calls(client, endpoint)
        print(f"{endpoint.name:18} {cpu:6.2f} ms CPU per request ({wall:.2f} ms wall), {calls:6d} calls")
        if profiler:
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(args.top)
            pstats.Stats(profiler).sort_stats("tottime").print_stats(args.top)


def _layers(app, client, endpoint, n: int) -> None:
    def cpu(path: str) -> float:
        for _ in range(20):
            client.get(path, headers=endpoint.headers)
        return min(_batch(client, Endpoint(endpoint.name, path, endpoint.headers), n)[0] for _ in range(5))

    healthz = cpu("/healthz")
    full = cpu(endpoint.path)
    view_name = app.url_map.bind("localhost").match(endpoint.path.split("?")[0])[0]
    view = app.view_functions[view_name]
    app.view_functions[view_name] = lambda **_kwargs: "ok"
    try:
        signed_in = cpu(endpoint.path)
    finally:
        app.view_functions[view_name] = view
    print(
        f"{endpoint.name:18} ms CPU per request: healthz {healthz:.2f}; + sign-in and walls {signed_in - healthz:.2f};"
        f" + the view {full - signed_in:.2f}; = {full:.2f}"
    )


def _calls(client, endpoint, n: int = 20) -> int:
    """Python function calls per request: steadier than time on a shared machine."""
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(n):
        client.get(endpoint.path, headers=endpoint.headers)
    profiler.disable()
    return pstats.Stats(profiler).total_calls // n


def _batch(client, endpoint, n: int) -> tuple[float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(n):
        client.get(endpoint.path, headers=endpoint.headers)
    return (time.process_time() - cpu) * 1000 / n, (time.perf_counter() - wall) * 1000 / n


if __name__ == "__main__":
    main()

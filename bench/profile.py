"""Where the Python time of one request goes: each endpoint is requested through the Flask test client
against the bench database (as in bench/queries.py), N warm requests in each of 5 batches, and optionally
profiled with cProfile. It prints the process's CPU time per request (this machine's wall clock is
noisy; database time is not included), the lowest batch, the wall time of that batch, and the Python
function calls per request (steadier than either).

    python -m bench.profile --db postgresql|sqlite [--n 200] [--profile "contacts list"] [--top 30]
"""

import argparse
import cProfile
import pstats
import time

from bench.common import WHALE_EMAIL
from bench.queries import make_app, sign_in
from bench.target import endpoints, find_target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--profile", help="endpoint name to run under cProfile")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--only", action="append", help="measure only this endpoint (repeatable)")
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

"""``cw-sandbox serve``: run the ConnectWise sandbox as a standalone server."""

from __future__ import annotations

import argparse
import signal
import sys

from flask import Flask
from werkzeug.serving import BaseWSGIServer

from cw_sandbox.app import create_app
from cw_sandbox.serving import make_server
from cw_sandbox.throttle import DEFAULT_IN_FLIGHT, DEFAULT_PER_MINUTE


def build_server(*, host: str, port: int, seed: str, db: str | None, company_id: str, codebase: str,
                 requests_per_minute: int | None = DEFAULT_PER_MINUTE,
                 max_in_flight: int | None = DEFAULT_IN_FLIGHT) -> tuple[BaseWSGIServer, Flask]:
    """The server (kept-alive connections, see serving.py) and the app it serves."""
    holder: dict[str, Flask] = {}
    server = make_server(host, port, lambda environ, start: holder["app"](environ, start))
    site = f"http://{host}:{server.server_port}"
    holder["app"] = create_app(seed=seed, db_path=db, company_id=company_id, codebase=codebase, site_url=site,
                               requests_per_minute=requests_per_minute, max_in_flight=max_in_flight)
    return server, holder["app"]


def _limit(text: str) -> int | None:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("a limit is 0 (none) or more")
    return value or None


def _print_banner(app: Flask, args: argparse.Namespace) -> None:
    tenant = app.extensions["cw_sandbox"]
    site = tenant.site_url
    print(f"ConnectWise sandbox at {site}  (API base {tenant.api_base})")
    print(f"  company id:        {tenant.company_id}")
    print(f"  API keys:          public {tenant.public_key}  private {tenant.private_key}")
    print(f"  integrator login:  {tenant.integrator_username} / {tenant.integrator_password}")
    limits = tenant.throttle.describe()
    print(f"  seed: {args.seed}   db: {args.db or '(memory)'}   control API: {site}/__sandbox__/   "
          f"budget: {limits['per_minute'] or 'no limit'}/min, {limits['in_flight'] or 'no limit'} in flight")
    print(f"  sandbox page:      {site}/__sandbox__/ui  (set an opportunity's status as a person would)")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``cw-sandbox`` console script."""
    parser = argparse.ArgumentParser(prog="cw-sandbox", description="ConnectWise Manage REST API sandbox")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the sandbox over HTTP")
    serve.add_argument("--port", type=int, default=8090)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--seed", choices=["empty", "demo"], default="empty")
    serve.add_argument("--db", default=None, help="SQLite file to keep the data in (reused if it exists)")
    serve.add_argument("--company-id", default="sandbox")
    serve.add_argument("--codebase", default="v2025_1/")
    serve.add_argument("--requests-per-minute", type=_limit, default=DEFAULT_PER_MINUTE,
                       help=f"the tenant's request budget, as ConnectWise limits it (default {DEFAULT_PER_MINUTE}; "
                            "0 for none)")
    serve.add_argument("--max-in-flight", type=_limit, default=DEFAULT_IN_FLIGHT,
                       help=f"requests answered at once before 429 (default {DEFAULT_IN_FLIGHT}; 0 for none)")
    args = parser.parse_args(argv)
    # Ctrl-C and SIGTERM stop it, even when it was started with SIGINT ignored (a shell's background
    # job, or a process that ignores it, passes that on and Python then installs no handler of its own);
    # set before the banner, so a Ctrl-C right after it is not lost.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))

    server = None
    try:
        server, app = build_server(host=args.host, port=args.port, seed=args.seed, db=args.db,
                                   company_id=args.company_id, codebase=args.codebase,
                                   requests_per_minute=args.requests_per_minute, max_in_flight=args.max_in_flight)
        _print_banner(app, args)
        server.serve_forever()
    except KeyboardInterrupt:  # stopped, possibly while it was still starting: quietly
        pass
    finally:
        if server is not None:
            server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

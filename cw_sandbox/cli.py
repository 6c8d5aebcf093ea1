"""``cw-sandbox serve``: run the ConnectWise sandbox as a standalone server."""

from __future__ import annotations

import argparse
import signal
import sys

from werkzeug.serving import make_server

from cw_sandbox.app import create_app


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
    args = parser.parse_args(argv)

    site = f"http://{args.host}:{args.port}"
    app = create_app(seed=args.seed, db_path=args.db, company_id=args.company_id, codebase=args.codebase,
                     site_url=site)
    tenant = app.extensions["cw_sandbox"]
    print(f"ConnectWise sandbox at {site}  (API base {tenant.api_base})")
    print(f"  company id:        {tenant.company_id}")
    print(f"  API keys:          public {tenant.public_key}  private {tenant.private_key}")
    print(f"  integrator login:  {tenant.integrator_username} / {tenant.integrator_password}")
    print(f"  seed: {args.seed}   db: {args.db or '(memory)'}   control API: {site}/__sandbox__/")
    print(f"  sandbox page:      {site}/__sandbox__/ui  (set an opportunity's status as a person would)")
    sys.stdout.flush()
    server = make_server(args.host, args.port, app, threaded=True)
    # Requests in flight on kept-alive connections must not hold up Ctrl-C (the demo stops us).
    server.daemon_threads = True
    server.block_on_close = False
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""colcw's blueprints, one module per page family.

``admin_bp`` (under the host's admin section) holds the admin pages; ``rep_bp`` the pages and
actions sales reps reach from customer and document pages, and colcw's static files (``colcw.static``:
its scripts, its stylesheet and the vendored htmx, see ``static/VENDORED.md``). The page modules attach their routes
when imported, at import time: a registered blueprint must not be changed when the next app is
created.
"""

from flask import Blueprint

admin_bp = Blueprint("colcw_admin", __name__, url_prefix="/admin/integration/connectwise",
                     template_folder="../templates")
rep_bp = Blueprint("colcw", __name__, url_prefix="/colcw", template_folder="../templates",
                   static_folder="../static", static_url_path="/static")  # /colcw/static/colcw/...

# The page modules below import the blueprints above to attach their routes.
from . import (  # noqa: E402,F401
    callbacks,
    connection,
    customer_mapping,
    customers,
    dashboard,
    documents,
    jobs,
    lists,
    mappings,
    new_opportunities,
    opportunities,
    runs,
    zone,
)

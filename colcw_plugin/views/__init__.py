"""colcw's blueprints.

``admin_bp`` (under the host's admin section) holds the admin pages; ``rep_bp`` the pages and
actions sales reps reach from customer and document pages. Child blueprints are nested at
import time: a registered blueprint must not be changed when the next app is created.
"""

from flask import Blueprint

admin_bp = Blueprint("colcw_admin", __name__, url_prefix="/admin/integration/connectwise",
                     template_folder="../templates")
rep_bp = Blueprint("colcw", __name__, url_prefix="/colcw", template_folder="../templates")

from . import connection, customer_sync, document_sync  # noqa: E402,F401 - routes attach to the blueprints above

# isort: split
from . import customer_mapping, settings_pages  # noqa: E402,F401 - admin setup pages (issue 4)

# isort: split
from . import jobs  # noqa: E402,F401 - Synchronization Jobs, run logs, progress JSON, rq-dashboard (issue 7)

"""colcw's own tables (prefix ``colcw_``) on the host's database.

They live on their own Alembic history (``colcw_plugin/migrations``), so colcw can be added
to an existing host database and upgraded independently.
"""

from .links import (
    CONTACT,
    CUSTOMER,
    DOCUMENT,
    CreateIntent,
    Link,
    RecordState,
    RowState,
    edited_after,
    find_by_cw,
    fingerprint,
    get_link,
    links_for,
    remove_link,
    set_link,
)
from .live import (
    CUSTOMER_MASTERS,
    CW_MASTER,
    EXTERNAL_STATUS_SOURCE,
    HOST_MASTER,
    CallbackRegistration,
    DocumentDrift,
    InboundHint,
    LiveSettings,
    RecordDrift,
)
from .one_row import the_row
from .people import TimeZoneChoice
from .runs import (
    ACTIVE_RUN_STATUSES,
    ENDED_RUN_STATUSES,
    ENTITY_PLURALS,
    FINAL_RUN_STATUSES,
    RECORD_ACTIONS,
    REDO_ACTIONS,
    RUN_STATUS_LABELS,
    RunStatus,
    Schedule,
    SyncItem,
    SyncRun,
    action_in,
    actor_label,
    cancelled_message,
    constant,
    last_heartbeat,
    late_cancel_note,
    stop_request_message,
    stop_requested_by,
    stored_time,
    summarize_counts,
    times_in,
)
from .settings import (
    CategoryMapping,
    ConfigChange,
    ManufacturerAlias,
    ProductTypeMapping,
    RepMapping,
    Settings,
)
from .state import (
    CompanyScan,
    DocumentExport,
    DocumentLineExport,
    ReferenceCache,
    RequiredField,
    exported_by_all,
)

__all__ = [
    "edited_after",
    "ACTIVE_RUN_STATUSES", "CONTACT", "CUSTOMER", "CUSTOMER_MASTERS", "CW_MASTER", "DOCUMENT", "ENDED_RUN_STATUSES", "EXTERNAL_STATUS_SOURCE",
    "ENTITY_PLURALS", "FINAL_RUN_STATUSES", "HOST_MASTER", "RECORD_ACTIONS", "REDO_ACTIONS", "RUN_STATUS_LABELS",
    "CallbackRegistration", "CategoryMapping", "CompanyScan", "ConfigChange", "CreateIntent", "DocumentDrift", "DocumentExport",
    "DocumentLineExport", "InboundHint", "Link", "LiveSettings", "ManufacturerAlias", "ProductTypeMapping",
    "RecordDrift", "RecordState", "ReferenceCache", "RequiredField", "RepMapping", "RowState", "RunStatus", "Schedule", "Settings",
    "SyncItem", "SyncRun", "TimeZoneChoice", "action_in", "actor_label", "cancelled_message", "constant", "exported_by_all", "find_by_cw", "last_heartbeat", "late_cancel_note", "fingerprint", "get_link", "links_for", "remove_link",
    "set_link", "stop_request_message", "stop_requested_by", "stored_time", "summarize_counts",
    "the_row", "times_in",
]

"""colcw's fixed forms, declared once with WTForms (through Flask-WTF): the connection, the options, what new
opportunities get, the Synchronization Jobs forms and the schedule form.

The forms declare the fields, their labels, choices and defaults, and render each field with its
errors; the rules stay in the services (``setup/``, ``sync/``), which raise :class:`~..errors.FieldErrors`
keyed by field name. :meth:`ColcwForm.show_errors` puts those messages beside their fields. CSRF is
checked for every POST by the host's ``CSRFProtect``; the forms render its token.

The jobs page's sections are registered job kinds (``JobKind.form_job`` / ``form_template``): the
form class of a section is found in :data:`JOB_FORMS` by its ``form_job``, so the page itself never
names a kind.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, PasswordField, RadioField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import HiddenInput

from ..setup.categories import held as category_held
from ..setup.connection import ConnectionInput
from ..setup.opportunity_defaults import (
    DEFAULT_LABEL,
    KINDS,
    DefaultsInput,
    NewOpportunityValues,
    OpportunityLists,
    Option,
    options,
)
from ..setup.options import OptionsInput
from ..setup.reps import api_member_kind as rep_api_member_kind
from ..setup.reps import held as rep_held
from ..sync.jobs.ranges import PRESET_LABELS
from ..sync.jobs.schedules import FREQUENCIES, TIMING_KEY, WEEKDAYS


def choices(pairs) -> list[SelectChoice]:
    """``(value, label)`` pairs as WTForms choices."""
    return [SelectChoice(str(value), label) for value, label in pairs]


class ColcwForm(FlaskForm):
    """A form whose errors come from a service's :class:`FieldErrors`."""

    ALIASES: Mapping[str, str] = {}  # a service's error key -> this form's field name

    class Meta(FlaskForm.Meta):
        def render_field(self, field, render_kw):
            """Hidden inputs (the CSRF token, a form's ``section`` or ``job``, the rows' loaded values) without an
            id: no label points at them, and the pages with several forms would repeat each id once a form."""
            if isinstance(field.widget, HiddenInput):
                render_kw = {"id": False, **render_kw}
            return super().render_field(field, render_kw)

    def show_errors(self, errors: Mapping[str, str]) -> None:
        """Attach each message to its field (unknown keys go to ``form_errors``)."""
        for key, message in errors.items():
            field = self._fields.get(self.ALIASES.get(key, key))
            if field is None:
                self.form_errors.append(message)
            else:
                field.errors = [*list(field.errors or ()), message]


# --- connection and options ------------------------------------------------------------------------


class ConnectionForm(ColcwForm):
    """Admin → Integration → ConnectWise: the connection (the secret is never sent back to the page)."""

    site_url = StringField("Site URL", render_kw={"placeholder": "https://na.myconnectwise.net"})
    company_id = StringField("Company ID", render_kw={"autocomplete": "off"})
    client_id = StringField("clientId", render_kw={"autocomplete": "off"})
    auth_mode = RadioField("Credentials", default="api_keys",
                           choices=choices([("api_keys", "API member keys (recommended)"),
                                    ("integrator", "Integrator login (username and password)")]))
    public_key = StringField("Public key", render_kw={"autocomplete": "off"})
    private_key = PasswordField("Private key", render_kw={"autocomplete": "new-password"})
    username = StringField("Username", render_kw={"autocomplete": "off"})
    password = PasswordField("Password", render_kw={"autocomplete": "new-password"})
    allow_http = BooleanField("Allow http (development: a local ConnectWise sandbox only)")

    @property
    def user_field(self):
        return self.public_key if self.auth_mode.data != "integrator" else self.username

    @property
    def secret_field(self):
        return self.private_key if self.auth_mode.data != "integrator" else self.password

    def show_errors(self, errors: Mapping[str, str]) -> None:
        # The service names the login fields by role; they sit under the chosen credentials.
        super().show_errors({({"user": self.user_field.name, "secret": self.secret_field.name}).get(k, k): v
                             for k, v in errors.items()})

    def to_input(self) -> ConnectionInput:
        mode = self.auth_mode.data or "api_keys"
        return ConnectionInput(site_url=self.site_url.data or "", company_id=self.company_id.data or "",
                               auth_mode=mode, user=self.user_field.data or "",
                               secret=self.secret_field.data or None, client_id=self.client_id.data or "",
                               allow_http=bool(self.allow_http.data))

    @classmethod
    def of_settings(cls, settings) -> ConnectionForm:
        """The stored connection, to show (never the secret)."""
        form = cls(formdata=None)
        form.site_url.data, form.company_id.data = settings.site_url, settings.company_id
        form.client_id.data, form.auth_mode.data = settings.client_id, settings.auth_mode or "api_keys"
        form.user_field.data, form.allow_http.data = settings.public_key, settings.allow_http
        return form


class OptionsForm(ColcwForm):
    """The connection options (§4.2 2c-2e)."""

    opportunity_field_id = SelectField("Opportunity name comes from the quote header field", choices=[])
    allow_empty_opportunity_name = BooleanField("Allow empty opportunity names (use the document number)")
    use_logged_in_rep = BooleanField("Assign to the logged-in sales rep instead of the store's default rep")

    def set_fields(self, fields) -> OptionsForm:
        self.opportunity_field_id.choices = choices([("", "— choose a custom header field —")]
                                                    + [(f.id, f.name) for f in fields])
        return self

    def to_input(self) -> OptionsInput | None:
        """The options, or None when the field choice is not one of the page's (a forged post)."""
        raw = self.opportunity_field_id.data or ""
        if raw and not raw.isdigit():
            return None
        return OptionsInput(opportunity_field_id=int(raw) if raw else None,
                            allow_empty_opportunity_name=bool(self.allow_empty_opportunity_name.data),
                            use_logged_in_rep=bool(self.use_logged_in_rep.data))

    @classmethod
    def of_settings(cls, settings, fields) -> OptionsForm:
        form = cls(formdata=None).set_fields(fields)
        form.opportunity_field_id.data = str(settings.opportunity_field_id or "")
        form.allow_empty_opportunity_name.data = settings.allow_empty_opportunity_name
        form.use_logged_in_rep.data = settings.use_logged_in_rep
        return form


class NewOpportunityForm(ColcwForm):
    """Admin → Integration → ConnectWise → New opportunities: the type, stage and open status an opportunity colcw
    creates gets, each picked from ConnectWise's list (the ids are posted) or left to ConnectWise's default."""

    type_id = SelectField("Opportunity type", choices=[])
    stage_id = SelectField("Stage", choices=[])
    status_id = SelectField("Open status", choices=[])

    ALIASES = {kind.key: f"{kind.key}_id" for kind in KINDS}
    NOT_READ = "saved; ConnectWise's list could not be read"

    def set_lists(self, values: NewOpportunityValues, lists: OpportunityLists | None) -> NewOpportunityForm:
        """Each field's choices: ConnectWise's usable values (a saved one it no longer accepts stays, marked); without
        the lists (ConnectWise unreachable), only the saved value, so saving it unchanged keeps it."""
        for kind in KINDS:
            current = values.get(kind)
            if lists is None:
                offered = [Option(current.id, current.name or f"id {current.id}", self.NOT_READ)] if current else []
            else:
                offered = options(kind, lists.rows(kind), current)
            self[f"{kind.key}_id"].choices = choices([("", DEFAULT_LABEL), *((o.id, o.label) for o in offered)])
        return self

    def to_input(self) -> DefaultsInput | None:
        """The chosen ids, or None when one is not an id (a forged post)."""
        raw = [self[f"{kind.key}_id"].data or "" for kind in KINDS]
        if any(value and not value.isdigit() for value in raw):
            return None
        return DefaultsInput(*(int(value) if value else None for value in raw))

    @classmethod
    def of_values(cls, values: NewOpportunityValues, lists: OpportunityLists | None) -> NewOpportunityForm:
        form = cls(formdata=None).set_lists(values, lists)
        for kind in KINDS:
            chosen = values.get(kind)
            form[f"{kind.key}_id"].data = str(chosen.id) if chosen else ""
        return form


# --- schedules and the jobs forms -------------------------------------------------------------------


def _weekdays() -> list[SelectChoice]:
    return choices(enumerate(WEEKDAYS))


class ScheduleForm(ColcwForm):
    """When a job runs: name, local time, IANA time zone, frequency and, by frequency, the weekday or
    the day of the month (the page shows only the one the frequency needs)."""

    schedule_name = StringField("Schedule name", render_kw={"maxlength": 100,
                                                            "placeholder": "e.g. Nightly customer import"})
    time = StringField("Time of day", default="02:30", render_kw={"type": "time"})
    timezone = StringField("Time zone", render_kw={"list": "colcw-zones", "autocomplete": "off"})
    frequency = SelectField("Frequency", choices=choices(FREQUENCIES.items()), default="daily")
    weekday = SelectField("On", choices=_weekdays(), default="0")
    day_of_month = StringField("Day of month", default="1",
                               render_kw={"type": "number", "min": 1, "max": 31})
    every_minutes = StringField("Minutes between runs", default="15",
                                render_kw={"type": "number", "min": 1, "max": 1440})

    SCHEDULE_FIELDS = ("time", "timezone", "frequency", "weekday", "day_of_month", "every_minutes")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.timing_errors: list[str] = []  # a timing refused as a whole (it meets another schedule): at its fields

    def show_errors(self, errors: Mapping[str, str]) -> None:
        """As :meth:`ColcwForm.show_errors`, but a timing refused as a whole (:data:`TIMING_KEY`: another schedule runs
        the job at the same minutes) is kept for the schedule's fields (under time and time zone), not the form's top."""
        errors = dict(errors)
        if TIMING_KEY in errors:
            self.timing_errors.append(errors.pop(TIMING_KEY))
        super().show_errors(errors)

    def with_zone(self, zone: str) -> ScheduleForm:
        if not self.timezone.data:
            self.timezone.data = zone
        return self

    @classmethod
    def of_schedule(cls, schedule) -> ScheduleForm:
        form = cls(formdata=None)
        form.schedule_name.data, form.time.data, form.timezone.data = schedule.name, schedule.time_of_day, \
            schedule.timezone
        form.frequency.data = schedule.frequency
        form.weekday.data = str(schedule.weekday if schedule.weekday is not None else 0)
        form.day_of_month.data = str(schedule.day_of_month or 1)
        form.every_minutes.data = str(schedule.every_minutes or 15)
        return form


def _presets() -> list[SelectChoice]:
    return choices(PRESET_LABELS.items())


class JobForm(ScheduleForm):
    """A Synchronization Jobs section: what to run, and "Schedule this job" with the schedule's fields."""

    job = HiddenField()
    schedule = BooleanField("Schedule this job")

    def set_range_fields(self, options: Mapping[str, str]) -> JobForm:
        for field in self:
            if field.name.endswith("_range_field"):
                field.choices = choices(options.items())
        return self


class CustomerJobForm(JobForm):
    """Customer data sync: export to or import from ConnectWise."""

    source = RadioField("Source of the customer data", default="channelonline",
                        choices=choices([("channelonline", "ChannelOnline (export to ConnectWise)"),
                                 ("connectwise", "ConnectWise (import into ChannelOnline)")]))
    customer_scope = RadioField("Export which customers", default="one",
                                choices=choices([("one", "A specific customer, account number"),
                                         ("range", "All customers within a date range"), ("all", "All customers")]))
    account_number = StringField("Account number")
    customer_range_field = SelectField("Type", choices=[])
    customer_preset = SelectField("Date range", choices=_presets(), default="last7")
    customer_start = StringField("Start (custom)", render_kw={"type": "date"})
    customer_end = StringField("End (custom)", render_kw={"type": "date"})
    import_scope = RadioField("Import which companies", default="company",
                              choices=choices([("company", "One company, ConnectWise Company ID"),
                                       ("changed", "Companies changed in ConnectWise since the last import"),
                                       ("all", "All companies")]))
    company = StringField("ConnectWise Company ID")


class QuoteJobForm(JobForm):
    """Quote / sales order export."""

    schedule_name = StringField("Schedule name", render_kw={"maxlength": 100, "placeholder": "e.g. Weekly quote export"})

    quote_scope = RadioField("Export which quotes and orders", default="one",
                             choices=choices([("one", "A specific quote / order, number"),
                                      ("range", "All quotes and orders within a date range"),
                                      ("all", "All quotes and orders")]))
    document_number = StringField("Number")
    quote_range_field = SelectField("Type", choices=[])
    quote_preset = SelectField("Date range", choices=_presets(), default="last7")
    quote_start = StringField("Start (custom)", render_kw={"type": "date"})
    quote_end = StringField("End (custom)", render_kw={"type": "date"})


class ReconcileJobForm(JobForm):
    """The live updates' safety net."""

    schedule_name = StringField("Schedule name", render_kw={"maxlength": 100, "placeholder": "e.g. Safety net"})

    reconcile_mode = RadioField("What the pass checks", default="changes",
                                choices=choices([("changes", "What changed in ConnectWise since the last pass"),
                                                 ("deletions", "Records deleted in ConnectWise")]))


JOB_FORMS: dict[str, type[JobForm]] = {"customer": CustomerJobForm, "quote": QuoteJobForm,
                                       "reconcile": ReconcileJobForm}


# --- the mapping pages: one field per host record, built from the records and ConnectWise's lists -----


def _pick(label: str, aria: str, current: str, options: list[tuple[str, str]] | None, *, blank: str,
          missing: str = " (not in ConnectWise)"):
    """A select of ConnectWise's names (searchable) when its lists could be read; a text box otherwise.
    A stored value ConnectWise no longer has stays chosen, marked."""
    if options is None:
        return StringField(label, default=current, render_kw={"aria-label": aria})
    known = {value for value, _ in options}
    extra = [(current, f"{current}{missing}")] if current and current not in known else []
    return SelectField(label, choices=choices([("", blank), *options, *extra]), default=current,
                       render_kw={"aria-label": aria, "data-colcw-searchable": ""})


def _member_label(member, lookups, own_member: str) -> str:
    """A member as the rep mapping offers it: an API member says it is not a person (colcw's own, when known)."""
    kind = rep_api_member_kind(member.identifier, lookups, own_member)
    return member.label + {"own": " — colcw's own API member, not a person",
                           "api": " — API member, not a person"}.get(kind, "")


def rep_mapping_form(users, mappings, lookups, formdata=None, own_member: str = "") -> ColcwForm:
    """Sales rep mapping: member, location and business unit per host user."""
    fields = {}
    members = None if lookups is None else [(mem.identifier, _member_label(mem, lookups, own_member))
                                             for mem in lookups.members]
    for u in users:
        m = mappings.get(u.id)
        fields[f"member-{u.id}"] = _pick("ConnectWise member", f"Member for {u.name}",
                                         m.member_identifier if m else "", members, blank="— not mapped —")
        for key, attr, words in (("location", "location_name", "Location"),
                                 ("department", "department_name", "Business unit")):
            names = None if lookups is None else [(x.name, x.name) for x in getattr(lookups, f"{key}s")]
            fields[f"{key}-{u.id}"] = _pick(words, f"{words} for {u.name}", getattr(m, attr) if m else "", names,
                                            blank="member's default")
        fields[f"was-{u.id}"] = HiddenField(default=json.dumps(rep_held(m)))
    return type("RepMappingForm", (ColcwForm,), fields)(formdata=formdata)


def product_types_form(product_types, mappings, lookups, formdata=None) -> ColcwForm:
    """Product integration mapping → Product types: one ConnectWise product type per host type."""
    names = None if lookups is None else [(x.name, x.name) for x in lookups.product_types]

    def held(t: str) -> str:
        return mappings[t].cw_type_name if t in mappings else ""

    # A type ConnectWise has but marks inactive is said as such (the export refuses it), not as one it lacks.
    fields = {f"type-{t}": _pick("ConnectWise product type", f"ConnectWise product type for {t}", held(t), names,
                                 blank="— not mapped —",
                                 missing=" (inactive in ConnectWise)" if lookups is not None and
                                 lookups.inactive_type(held(t)) else " (not in ConnectWise)")
              for t in product_types}
    fields.update({f"was-{t}": HiddenField(default=mappings[t].cw_type_name if t in mappings else "")
                   for t in product_types})
    return type("ProductTypesForm", (ColcwForm,), {"section": HiddenField(default="types"), **fields})(
        formdata=formdata)


def categories_form(settings, pairs, mappings, lookups, formdata=None) -> ColcwForm:
    """Product integration mapping → Categories: the mode, and a ConnectWise sub-category per host pair
    (a pick from ConnectWise's list, or two names typed while ConnectWise cannot be read)."""
    fields = {"section": HiddenField(default="categories"),
              "category_mode": RadioField("Categories", default=settings.category_mode or "names", choices=choices([
                  ("names", "Use the names from ChannelOnline (the same categories and sub-categories must exist "
                            "in ConnectWise)"),
                  ("mapping", "Use the mapping below (map ChannelOnline's categories to categories that exist in "
                              "ConnectWise)")])),
              "was_mode": HiddenField(default=settings.category_mode or "names")}
    for n, (cat, sub) in enumerate(pairs):
        m = mappings.get((cat, sub))
        fields[f"hostcat-{n}"], fields[f"hostsub-{n}"] = HiddenField(default=cat), HiddenField(default=sub)
        fields[f"was-{n}"] = HiddenField(default=json.dumps(category_held(m)))
        aria = f"ConnectWise sub-category for {cat} / {sub}"
        if lookups is None:
            fields[f"cwcat-{n}"] = StringField("category", default=m.cw_category_name if m else "",
                                               render_kw={"aria-label": f"ConnectWise category for {cat} / {sub}"})
            fields[f"cwsub-{n}"] = StringField("sub-category", default=m.cw_subcategory_name if m else "",
                                               render_kw={"aria-label": aria})
        else:
            fields[f"target-{n}"] = _pick("ConnectWise sub-category", aria, subcategory_value(lookups, category_held(m)),
                                          [(str(x.id), x.label) for x in lookups.subcategories],
                                          blank="— not mapped —")
    form_class = type("CategoriesForm", (ColcwForm,), fields)
    form_class.ALIASES = {f"category-{n}": f"{'cwsub' if lookups is None else 'target'}-{n}" for n in range(len(pairs))}
    return form_class(formdata=formdata)


def subcategory_value(lookups, names: tuple[str, str]) -> str:
    """The categories form's value for a row holding ConnectWise's (category, sub-category) ``names``: the
    sub-category's id, "" when ConnectWise has no such sub-category (or the row is not mapped)."""
    return next((str(x.id) for x in lookups.subcategories if (x.parent_name, x.name) == names), "")


def manufacturers_form(names, aliases, lookups, formdata=None) -> ColcwForm:
    """Product integration mapping → Manufacturers: an alias per host manufacturer, and one new row."""
    options = None if lookups is None else [(x.name, x.name) for x in lookups.manufacturers]
    inactive = set() if lookups is None else {x.name for x in lookups.inactive_manufacturers}
    fields: dict = {"section": HiddenField(default="manufacturers")}
    for n, name in enumerate([*names, ""]):
        fields[f"alias_host-{n}"] = (HiddenField(default=name) if name else
                                     StringField("ChannelOnline name", render_kw={
                                         "placeholder": "another ChannelOnline name",
                                         "aria-label": "New alias: ChannelOnline name"}))
        current = aliases[name].cw_manufacturer_name if name in aliases else ""
        fields[f"alias_cw-{n}"] = _pick("ConnectWise manufacturer", f"ConnectWise manufacturer for {name or 'new alias'}",
                                        current, options, blank="— no alias —",
                                        missing=" (inactive in ConnectWise)" if current in inactive
                                        else " (not in ConnectWise)")
        fields[f"was-{n}"] = HiddenField(default=aliases[name].cw_manufacturer_name if name in aliases else "")
    form_class = type("ManufacturersForm", (ColcwForm,), fields)
    form_class.ALIASES = {f"alias-{n}": f"alias_cw-{n}" for n in range(len(names) + 1)}
    return form_class(formdata=formdata)

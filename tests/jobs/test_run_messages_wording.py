"""Messages read as sentences: no full stop inside brackets before a colon."""
from colcw_plugin.cw.errors import ServerError
from colcw_plugin.sync.jobs.runs import short_error, wait_reason


def test_the_waiting_message_has_no_full_stop_inside_its_brackets():
    error = ServerError("The service is unavailable.", status=503)
    assert short_error(error) == "HTTP 503 The service is unavailable"
    reason = wait_reason(error, None, whole_run=True)
    assert reason == ("ConnectWise cannot be reached (HTTP 503 The service is unavailable): "
                      "the run waits as a whole")
    assert ".)" not in reason

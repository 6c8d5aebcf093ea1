"""Messages read as sentences: no full stop inside brackets before a colon."""
from colcw_plugin.cw.errors import NetworkError, ServerError
from colcw_plugin.sync.jobs.runs import short_error, wait_reason


def test_the_waiting_message_has_no_full_stop_inside_its_brackets():
    error = ServerError("The service is unavailable.", status=503)
    assert short_error(error) == "HTTP 503 The service is unavailable"
    reason = wait_reason(error, None, whole_run=True)
    assert reason == ("ConnectWise keeps failing (HTTP 503 The service is unavailable): "
                      "the run waits as a whole")
    assert ".)" not in reason


def test_only_a_connectwise_that_did_not_answer_cannot_be_reached():
    answered = wait_reason(ServerError("An error has occurred.", status=500), None, whole_run=True)
    assert answered.startswith("ConnectWise keeps failing (HTTP 500 An error has occurred)")
    silent = wait_reason(NetworkError("could not connect: the server refused the connection", sent=False), None, whole_run=True)
    assert silent == ("ConnectWise cannot be reached (could not connect: the server refused the connection): the run "
                      "waits as a whole")

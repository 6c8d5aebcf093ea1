"""The client sends each prepared request itself (not through ``Session.send``): what ``Session.send`` does with an
answer is still done — cookies the answer sets are kept and sent back, a redirect is followed (its answers in
``history``), a response hook on the session is called — and an answer with none of those is read as before."""

from __future__ import annotations

from cwtest_support import BASE


def test_a_cookie_the_answer_sets_is_sent_with_the_next_request(make_client, rsps):
    client = make_client()
    rsps.get(BASE + "company/companies/1", json={"id": 1}, headers={"Set-Cookie": "ARRAffinity=xyz; Path=/"})
    rsps.get(BASE + "company/companies/2", json={"id": 2})
    assert client.companies.get(1) == {"id": 1}
    assert client.session.cookies.get("ARRAffinity") == "xyz"
    assert client.companies.get(2) == {"id": 2}
    assert rsps.calls[-1].request.headers["Cookie"] == "ARRAffinity=xyz"


def test_no_cookie_is_kept_from_an_answer_without_one(make_client, rsps):
    client = make_client()
    rsps.get(BASE + "company/companies/1", json={"id": 1})
    assert client.companies.get(1) == {"id": 1}
    assert not client.session.cookies
    assert "Cookie" not in rsps.calls[-1].request.headers


def test_a_redirect_is_followed_and_kept_in_history(make_client, rsps):
    client = make_client()
    rsps.get(BASE + "company/companies/1", status=301, headers={"Location": BASE + "company/companies/9",
                                                                "Set-Cookie": "hop=1; Path=/"})
    rsps.get(BASE + "company/companies/9", json={"id": 9})
    response = client.request("GET", "company/companies/1")
    assert response.json() == {"id": 9}
    assert [r.status_code for r in response.history] == [301]
    assert rsps.calls[-1].request.url == BASE + "company/companies/9"
    assert rsps.calls[-1].request.headers["Cookie"] == "hop=1"  # (the redirect's cookie, as Session.send keeps it)
    assert client.session.cookies.get("hop") == "1"


def test_a_response_hook_on_the_session_is_called(make_client, rsps):
    client = make_client()
    seen = []
    client.session.hooks["response"].append(lambda r, **kw: seen.append((r.url, r.status_code, kw.get("timeout"))))
    rsps.get(BASE + "company/companies/1", json={"id": 1})
    assert client.companies.get(1) == {"id": 1}
    assert seen[-1] == (BASE + "company/companies/1", 200, client.settings.timeout)


def test_the_answer_is_read_and_timed(make_client, rsps):
    client = make_client()
    rsps.get(BASE + "company/companies/1", json={"id": 1})
    response = client.request("GET", "company/companies/1")
    assert response._content_consumed and response.content == b'{"id": 1}'
    assert response.elapsed.total_seconds() >= 0 and response.history == []

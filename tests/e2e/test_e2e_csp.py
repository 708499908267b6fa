"""The Content-Security-Policy (server/security.py) is strict, and the page still works
under it: the page, the worker and Pyodide boot, a login syncs and a message arrives —
while an injected inline script is refused and reported."""

from __future__ import annotations

from typing import Any

from tests.e2e.driver import Api, single

VIOLATIONS = """() => {
  window.__tmViolations = [];
  document.addEventListener("securitypolicyviolation", (event) => {
    window.__tmViolations.push({ directive: event.violatedDirective, blocked: event.blockedURI });
  });
}"""

INJECT = """() => {
  const script = document.createElement("script");
  script.textContent = "window.__tmInjected = true;";
  document.head.appendChild(script);
}"""


def test_the_page_boots_under_the_policy_and_an_inline_script_is_refused(
    api: Api, open_app: Any
) -> None:
    # Intent: the CSP is the defence in depth for the token in IndexedDB; it must not
    # break the page, the worker or Pyodide (WebAssembly), and must stop injected script.
    api.user("alice")
    bob = api.user("bob")
    api.send(bob, "before", to="alice")
    app = open_app()
    answer = app.page.request.get(app.base_url + "/")
    policy = answer.headers["content-security-policy"]
    assert "script-src 'self' 'wasm-unsafe-eval'" in policy
    app.log_in("alice")  # the worker booted Pyodide and the SDK, then synced
    app.expect_counts({single("alice", "bob"): 1}, 1)
    api.send(bob, "after", to="alice")  # the WebSocket (connect-src 'self') delivers it
    app.expect_counts({single("alice", "bob"): 2}, 2)
    booting = [line for line in app.console if "Content Security Policy" in line]
    assert not booting, booting  # nothing the page itself does is refused

    app.page.evaluate(VIOLATIONS)
    app.page.evaluate(INJECT)
    app.page.wait_for_function("() => window.__tmViolations.length > 0")
    assert app.page.evaluate("() => window.__tmInjected") is None
    violations = app.page.evaluate("() => window.__tmViolations")
    assert violations[0]["directive"].startswith("script-src"), violations
    assert violations[0]["blocked"] == "inline", violations
    assert any(
        "Content Security Policy" in line and "inline script" in line for line in app.console
    ), app.console

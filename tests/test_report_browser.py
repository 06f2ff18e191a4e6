"""``report.html`` in a real headless browser: Chromium, driven through the Chrome DevTools
Protocol over ``--remote-debugging-pipe`` (file descriptors 3 and 4, JSON messages ended by a NUL
byte), so no driver and no Python package beyond the standard library is needed.

The browser is found on the PATH (``chromium``, ``chromium-browser``, ``google-chrome``,
``google-chrome-stable``, ``chrome``) or named by ``DYNSYS_CHROMIUM``; when there is none and the
tests run as root where ``apt-get`` exists, Debian's ``chromium`` is installed (``apt-get install
-y chromium``, as ``make test`` does). The test is skipped, with a message that says how to
install one, only when no browser can be found or installed.

Checked: the page loads with no console error, no uncaught exception and no request other than
``file:`` and ``data:`` URLs; every figure of the folder is an ``<img>`` that decoded
(``naturalWidth > 0``); every table is there; a real mouse click on an edge of the graph view
shows its barrier in the panel, and hovering a node shows its energy in the tooltip.
"""

import contextlib
import json
import os
import select
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

from dynsys.cli import main

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
INSTALL = "apt-get install -y chromium"
# The browser reads DevTools commands from its fd 3 and writes to its fd 4: a small Python
# trampoline puts the two pipe ends there (no preexec_fn, which is unsafe with threads) and
# becomes the browser.
ONTO_3_AND_4 = """
import fcntl, os, sys
high = [fcntl.fcntl(int(fd), fcntl.F_DUPFD, 10) for fd in sys.argv[1:3]]
os.dup2(high[0], 3)
os.dup2(high[1], 4)
os.execv(sys.argv[3], sys.argv[3:])
"""
TIMEOUT = 20.0  # seconds for one DevTools answer (the page loads in well under a second)


def find_browser() -> str | None:
    """The browser named by DYNSYS_CHROMIUM, else the first of NAMES on the PATH."""
    named = os.environ.get("DYNSYS_CHROMIUM")
    if named:
        return shutil.which(named) or (named if os.access(named, os.X_OK) else None)
    return next((path for name in NAMES if (path := shutil.which(name))), None)


def install_browser() -> str:
    """Install Debian's chromium when running as root with apt-get; say what happened."""
    if os.name != "posix" or os.geteuid() != 0 or not shutil.which("apt-get"):
        return "not root or no apt-get, so it was not installed"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (INSTALL, f"apt-get update && {INSTALL}"):
        try:
            done = subprocess.run(
                command,
                shell=True,
                env=env,
                capture_output=True,
                text=True,
                timeout=900,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return f"`{command}` took longer than 15 minutes"
        if done.returncode == 0:
            return "installed" if find_browser() else f"`{INSTALL}` put no browser on the PATH"
    return f"`{INSTALL}` failed: {done.stderr.strip()[-300:]}"


@pytest.fixture(scope="module")
def browser_path() -> str:
    named = os.environ.get("DYNSYS_CHROMIUM")
    if named and find_browser() is None:
        pytest.fail(f"DYNSYS_CHROMIUM={named!r} is not an executable; unset it or fix the path.")
    path = find_browser()
    if path is None:
        outcome = install_browser()
        path = find_browser()
        if path is None:
            pytest.skip(
                f"no headless browser for the report test: none of {', '.join(NAMES)} is on the "
                f"PATH and {outcome}. Install one (Debian/Ubuntu: `sudo {INSTALL}`) or set "
                "DYNSYS_CHROMIUM to a Chrome or Chromium executable."
            )
    return path


class DevTools:
    """One Chromium process and one page, spoken to with the DevTools protocol over pipes."""

    def __init__(self, browser: str, profile: Path) -> None:
        self._to_chrome_r, self._to_chrome_w = os.pipe()
        self._from_chrome_r, self._from_chrome_w = os.pipe()
        args = [
            browser,
            "--headless=new",
            "--remote-debugging-pipe",
            f"--user-data-dir={profile}",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-gpu",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1280,1800",
            "about:blank",
        ]
        if os.geteuid() == 0:
            args.insert(1, "--no-sandbox")  # Chromium refuses to run as root with its sandbox
        ours = (self._to_chrome_r, self._from_chrome_w)
        self.process = subprocess.Popen(
            [sys.executable, "-c", ONTO_3_AND_4, *map(str, ours), *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=ours,
        )
        os.close(self._to_chrome_r)
        os.close(self._from_chrome_w)
        self._buffer = b""
        self._next = 0
        self.events: list[dict] = []
        self.session: str | None = None

    def _read_message(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self._from_chrome_r], [], [], max(left, 0))
            if not ready:
                raise TimeoutError("the browser did not answer in time")
            chunk = os.read(self._from_chrome_r, 1 << 16)
            if not chunk:
                raise ConnectionError("the browser closed its DevTools pipe")
            self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        return json.loads(message)

    def send(self, method: str, params: dict | None = None, *, browser: bool = False) -> dict:
        """Send a command and return its result (events that arrive meanwhile are kept)."""
        self._next += 1
        message = {"id": self._next, "method": method, "params": params or {}}
        if self.session and not browser:
            message["sessionId"] = self.session
        os.write(self._to_chrome_w, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + TIMEOUT
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._next:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
            self.events.append(reply)

    def wait_for(self, method: str) -> dict:
        """The first event ``method`` (already received, or the next one to come)."""
        deadline = time.monotonic() + TIMEOUT
        while True:
            for event in self.events:
                if event.get("method") == method:
                    return event
            self.events.append(self._read_message(deadline))

    def open_page(self) -> None:
        target = self.send("Target.createTarget", {"url": "about:blank"}, browser=True)
        attached = self.send(
            "Target.attachToTarget",
            {"targetId": target["targetId"], "flatten": True},
            browser=True,
        )
        self.session = attached["sessionId"]
        for domain in ("Runtime", "Log", "Page", "Network"):
            self.send(f"{domain}.enable")

    def evaluate(self, expression: str):
        result = self.send(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression[:60]}...: {result['exceptionDetails']}")
        return result["result"].get("value")

    def mouse(self, kind: str, x: float, y: float) -> None:
        params = {"type": kind, "x": x, "y": y, "button": "none"}
        if kind in ("mousePressed", "mouseReleased"):
            params.update(button="left", clickCount=1)
        self.send("Input.dispatchMouseEvent", params)

    def close(self) -> None:
        with contextlib.suppress(OSError, RuntimeError, TimeoutError, ConnectionError):
            self.send("Browser.close", browser=True)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._to_chrome_w)
        os.close(self._from_chrome_r)


def small_double_well(folder: Path) -> Path:
    """The double-well example with a 10 x 8 basin grid: every figure, every table, fast."""
    text = (EXAMPLES / "double_well.toml").read_text()
    small = text.replace("linspace = [-2.0, 2.0, 100]", "linspace = [-2.0, 2.0, 10]")
    small = small.replace("linspace = [-1.5, 1.5, 80]", "linspace = [-1.5, 1.5, 8]")
    assert small.count("10]") and tomllib.loads(small)["graph"]["enabled"]
    spec = folder / "double_well.toml"
    spec.write_text(small)
    return spec


# the centre of an element, and a point in the middle of an edge's polyline, in the viewport
CENTRE = """(() => {{
  const el = document.querySelector({selector!r});
  el.scrollIntoView({{block: "center"}});
  const r = el.getBoundingClientRect();
  return [r.left + r.width / 2, r.top + r.height / 2];
}})()"""
ON_EDGE = """(() => {{
  const line = document.querySelector("#graph-edge-{edge} .edge-line");
  line.scrollIntoView({{block: "center"}});
  const p = line.points.getItem(Math.floor(line.points.numberOfItems / 2));
  const m = line.getScreenCTM();
  return [p.x * m.a + p.y * m.c + m.e, p.x * m.b + p.y * m.d + m.f];
}})()"""


def test_the_report_works_in_a_headless_browser(browser_path, tmp_path):
    started = time.monotonic()
    out = tmp_path / "run"
    assert main(["analyze", str(small_double_well(tmp_path)), "--out", str(out)]) == 0
    pictures = sorted(p.name for p in out.glob("*.png"))
    assert len(pictures) == 4
    chrome = DevTools(browser_path, tmp_path / "profile")
    try:
        chrome.open_page()
        chrome.send("Page.navigate", {"url": (out / "report.html").as_uri()})
        chrome.wait_for("Page.loadEventFired")

        errors = [
            e["params"]
            for e in chrome.events
            if e.get("method") == "Runtime.exceptionThrown"
            or (
                e.get("method") == "Runtime.consoleAPICalled"
                and e["params"]["type"] in ("error", "assert")
            )
            or (e.get("method") == "Log.entryAdded" and e["params"]["entry"]["level"] == "error")
        ]
        assert errors == []
        requested = [
            e["params"]["request"]["url"]
            for e in chrome.events
            if e.get("method") == "Network.requestWillBeSent"
        ]
        assert requested and all(url.startswith(("file:", "data:")) for url in requested)

        images = chrome.evaluate(
            "Array.from(document.images).map(i => [i.alt, i.complete, i.naturalWidth])"
        )
        assert sorted(alt for alt, _, _ in images) == pictures
        assert all(complete and width > 0 for _, complete, width in images), images
        tables = chrome.evaluate("Array.from(document.querySelectorAll('table')).map(t => t.id)")
        for key in (
            "provenance",
            "fixed-points",
            "attractors",
            "graph-nodes",
            "graph-edges",
            "lowest-barriers",
            "outcomes",
        ):
            assert f"table-{key}" in tables
        rows = chrome.evaluate("document.querySelectorAll('#table-fixed-points tbody tr').length")
        assert rows == 3

        # a real click on the middle of edge 0 (a trajectory from the saddle to a minimum)
        assert "barrier E(" not in chrome.evaluate(
            "document.getElementById('graph-detail').textContent"
        )
        x, y = chrome.evaluate(ON_EDGE.format(edge=0))
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            chrome.mouse(kind, x, y)
        detail = chrome.evaluate("document.getElementById('graph-detail').innerText")
        assert "barrier E(saddle) - E(end): 0.25" in detail
        assert chrome.evaluate(
            "document.getElementById('graph-edge-0').classList.contains('selected')"
        )
        assert chrome.evaluate("document.querySelectorAll('#graph-detail tr').length") > 2

        # hovering the saddle (energy 1/4) shows its tooltip
        saddle = chrome.evaluate(
            "JSON.parse(document.getElementById('graph-data').textContent).nodes"
            ".findIndex(n => n.kind === 'saddle-1')"
        )
        assert chrome.evaluate("document.getElementById('graph-tooltip').hidden")
        x, y = chrome.evaluate(CENTRE.format(selector=f"#graph-node-{saddle} circle"))
        chrome.mouse("mouseMoved", x, y)
        tooltip = chrome.evaluate("document.getElementById('graph-tooltip').innerText")
        assert not chrome.evaluate("document.getElementById('graph-tooltip').hidden")
        assert "energy: 0.25" in tooltip and "index: 1" in tooltip
        assert "x = 0, y = 0" in tooltip and "eigenvalues: 1, -1" in tooltip

        late = [e for e in chrome.events if e.get("method") == "Runtime.exceptionThrown"]
        assert late == []
    finally:
        chrome.close()
    assert time.monotonic() - started < 60

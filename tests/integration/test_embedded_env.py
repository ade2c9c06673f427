"""The thread-local overlay over os.environ that gives each in-process function its own variables."""

from __future__ import annotations

import os
import threading

from infra.embedded import _env


def test_overlay_is_per_thread_and_restored() -> None:
    original = os.environ
    _env.install()
    try:
        assert os.environ is not original
        assert isinstance(os.environ, _env.OverlayEnviron)
        seen: dict[str, object] = {}
        ready = threading.Event()
        release = threading.Event()

        def other_thread() -> None:
            with _env.overlay({"EMBEDDED_ENV_PROBE": "other"}):
                ready.set()
                release.wait(5)
                seen["other"] = os.getenv("EMBEDDED_ENV_PROBE")

        thread = threading.Thread(target=other_thread)
        thread.start()
        ready.wait(5)
        with _env.overlay({"EMBEDDED_ENV_PROBE": "mine", "PATH": "/overlay"}) as layer:
            assert os.environ["EMBEDDED_ENV_PROBE"] == "mine"
            assert os.getenv("PATH") == "/overlay"
            assert "EMBEDDED_ENV_PROBE" in os.environ
            assert dict(os.environ)["EMBEDDED_ENV_PROBE"] == "mine"
            assert len(os.environ) == len(set(os.environ))
            with _env.overlay({"EMBEDDED_ENV_PROBE": "nested"}):
                assert os.environ["EMBEDDED_ENV_PROBE"] == "nested"
            os.environ["EMBEDDED_ENV_PROBE"] = "changed"  # a function changing its own variable
            assert layer["EMBEDDED_ENV_PROBE"] == "changed"
            release.set()
            thread.join(5)
        assert seen["other"] == "other"
        assert "EMBEDDED_ENV_PROBE" not in os.environ
        assert os.environ["PATH"] == original["PATH"]
        os.environ["EMBEDDED_ENV_WRITE"] = "1"  # outside an overlay: the real environment
        assert original["EMBEDDED_ENV_WRITE"] == "1"
        del os.environ["EMBEDDED_ENV_WRITE"]
        assert "EMBEDDED_ENV_WRITE" not in original
    finally:
        _env.uninstall()
    assert os.environ is original

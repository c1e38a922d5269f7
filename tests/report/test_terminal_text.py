"""Names from scanned files in terminal tables: shown as written, never read as markup or sent as controls."""

from __future__ import annotations

from clearsight.core.base import SourceLocation
from clearsight.core.discovery import DiscoveredComponent, DiscoveredSystem, DiscoveryReport
from clearsight.report.discovery import render_table


def _report(*names: str) -> DiscoveryReport:
    comps = [DiscoveredComponent(kind="model_file", name=n, locations=[SourceLocation(path=n)], evidence="pickle",
                                 confidence="high", detectors=["model-files"]) for n in names]
    return DiscoveryReport(roots=["/r"], systems=[DiscoveredSystem(id="s", name="a[", root="a[", declared=False,
                                                                    components=comps)],
                           components=comps, files_read=len(names))


def test_markup_in_names_is_shown_not_parsed() -> None:
    """Found by a review: an MCP server named ``[/]`` crashed the table (MarkupError), and ``model[v2].pkl``
    showed as ``model.pkl``."""
    text = render_table(_report("[/]", "model[v2].pkl", "weights[bold].pkl"))
    assert "[/]" in text and "model[v2].pkl" in text and "weights[bold].pkl" in text and "a[" in text


def test_control_characters_in_names_are_escaped() -> None:
    text = render_table(_report("\x1b[2Jclear.pkl", "\x1b]0;title\x07t.pkl"))
    assert "\x1b" not in text and "\x07" not in text
    assert "\\u001b[2Jclear.pkl" in text

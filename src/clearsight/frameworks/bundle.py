"""All catalogues an assessment needs, loaded once and passed around as one frozen value."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from clearsight.core.assessment import CatalogueVersion
from clearsight.frameworks.atlas import AtlasCatalogue
from clearsight.frameworks.atlas_store import load_atlas
from clearsight.frameworks.controls import ControlCatalogue, load_controls
from clearsight.frameworks.crisp_ml_q import CrispMlQ, load_crisp_ml_q
from clearsight.frameworks.eu_ai_act import EuAiAct, load_eu_ai_act
from clearsight.frameworks.iso_42001 import Iso42001, load_iso_42001
from clearsight.frameworks.nist_ai_rmf import NistAiRmf, load_nist_ai_rmf
from clearsight.frameworks.owasp import OwaspCatalogue, load_owasp
from clearsight.frameworks.threat_model import ThreatModel, load_threat_model


@dataclass(frozen=True)
class Catalogues:
    atlas: AtlasCatalogue
    eu_ai_act: EuAiAct
    nist_ai_rmf: NistAiRmf
    iso_42001: Iso42001
    owasp: OwaspCatalogue
    crisp_ml_q: CrispMlQ
    controls: ControlCatalogue
    threat_model: ThreatModel

    def versions(self) -> list[CatalogueVersion]:
        metas = [
            self.atlas.meta, self.eu_ai_act.meta, self.nist_ai_rmf.meta, self.iso_42001.meta,
            self.owasp.llm_top10.meta, self.owasp.ml_top10.meta, self.crisp_ml_q.meta,
            self.controls.meta, self.threat_model.meta,
        ]
        return [m.as_version() for m in metas]


def load_catalogues(home: Path | None = None) -> Catalogues:
    """The built-in catalogues, with the user's installed ATLAS edition when there is one."""
    return Catalogues(
        atlas=load_atlas(home),
        eu_ai_act=load_eu_ai_act(),
        nist_ai_rmf=load_nist_ai_rmf(),
        iso_42001=load_iso_42001(),
        owasp=load_owasp(),
        crisp_ml_q=load_crisp_ml_q(),
        controls=load_controls(),
        threat_model=load_threat_model(),
    )

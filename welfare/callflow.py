"""The welfare notice's call as officers read it on the programme page: the voice flow
(``welfare/templates/notify/welfare.eligible.flow.json``, built by :mod:`portal.notify.flows`)
in each language, in plain words, for a sample resident under 60 and one of 70 (who is offered
the health check and hears slower speech)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.i18n import LOCALES
from portal.notify import flows
from welfare.models import Programme
from welfare.service.scan import NOTICE_TEMPLATE, _notice_context

# (the sample resident's label, their age)
SAMPLES = ((_l("A resident aged 45"), 45), (_l("A resident aged 70"), 70))

ACTIONS = {
    "callback": _l("An officer calls back to help apply"),
    "repeat": _l("Hear it again"),
    "health_check": _l("Book a cognitive health check at the public health centre"),
    "opt_out": _l("No more calls about this"),
}


def preview(prog: Programme) -> list[dict] | None:
    """Per sample resident, per language: the steps of the call (id, words, menu, slow or not);
    None when the notice has no flow."""
    context = _notice_context(prog)
    samples = []
    for label, age in SAMPLES:
        languages = []
        for lang in LOCALES:
            flow = flows.build(NOTICE_TEMPLATE, context, lang, age=age)
            if flow is None:
                return None
            languages.append({"lang": lang, "steps": [
                {"id": step["id"], "words": flows.plain(step["ssml"]), "slow": "<prosody" in step["ssml"],
                 "options": [{"digit": o["digit"], "action": ACTIONS.get(o["action"], o["action"])}
                             for o in step.get("options") or ()]}
                for step in flow["steps"]]})
        samples.append({"label": label, "age": age, "languages": languages})
    return samples

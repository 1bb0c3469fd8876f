"""Gates at a facility: register one (its API key shown once), switch one off.

Which gate is asking at check time is ``portal.eid.verify.gates``; both empty its cache here
when a gate changes, so a switched-off key stops working at once on this process.
"""

from __future__ import annotations

import secrets

from sqlalchemy.orm import Session

from portal.audit import record
from portal.eid.errors import INVISIBLE, NoSuchGate
from portal.eid.limits import GATE_NAME_MAX
from portal.eid.models import Gate
from portal.eid.service.common import require_staff
from portal.eid.service.facilities import get_facility
from portal.eid.verify import forget_gates
from portal.eid.verify.gates import GATE_KEY_PREFIX, hash_gate_key
from portal.errors import Invalid
from portal.inputs import visible


def create_gate(session: Session, staff, facility_code: str, name: str = "") -> tuple[Gate, str]:
    """Register a gate at a facility. Returns (gate, api_key); the key is shown only once.
    ``staff`` None means the command line (operator on the server). Without a name the gate
    is named after its facility; a name only of invisible characters is 422."""
    if staff is not None:
        require_staff(staff)
    facility = get_facility(session, facility_code)
    name = (name or "").strip()
    if name and not visible(name):
        raise Invalid(fields={"name": INVISIBLE})
    key = GATE_KEY_PREFIX + secrets.token_urlsafe(32)
    gate = Gate(facility_id=facility.id, name=name[:GATE_NAME_MAX] or facility.code,
                key_hash=hash_gate_key(key), key_prefix=key[:12], active=True)
    session.add(gate)
    session.flush()
    record(session, staff, "eid.gate_created", "eid_gate", gate.id, facility=facility.code)
    session.commit()
    forget_gates()
    return gate, key


def deactivate_gate(session: Session, staff, gate_id: int) -> Gate:
    require_staff(staff)
    gate = session.get(Gate, gate_id)
    if gate is None:
        raise NoSuchGate()
    gate.active = False
    record(session, staff, "eid.gate_deactivated", "eid_gate", gate.id)
    session.commit()
    forget_gates()
    return gate

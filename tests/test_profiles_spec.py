"""The worked examples in firmware-notes/gatt-profile.md decode to the values stated there.

The examples are parsed out of the markdown, so the spec and the code cannot drift.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from tracker.profiles import tracker_imu as ti

SPEC = Path(__file__).resolve().parents[1] / "firmware-notes" / "gatt-profile.md"


def _examples() -> dict[str, tuple[list[bytes], dict]]:
    text = SPEC.read_text(encoding="utf-8")
    hexes = {m[1]: [bytes.fromhex(line) for line in m[2].strip().splitlines()]
             for m in re.finditer(r"```hex ([\w-]+)\n(.*?)```", text, re.S)}
    jsons = {m[1]: json.loads(m[2]) for m in re.finditer(r"```json ([\w-]+)\n(.*?)```", text, re.S)}
    assert hexes.keys() == jsons.keys(), "every hex example needs its decoded JSON"
    return {k: (hexes[k], jsons[k]) for k in hexes}


EXAMPLES = _examples()


def test_spec_has_all_kinds_of_examples():
    kinds = {v[1]["kind"] for v in EXAMPLES.values()}
    assert kinds == {"data", "config", "status", "impulse"}
    assert len(EXAMPLES) >= 7


def test_spec_uuids_match_code():
    text = SPEC.read_text(encoding="utf-8")
    for u in (ti.SERVICE_UUID, ti.DATA_UUID, ti.CONFIG_UUID, ti.STATUS_UUID, ti.IMPULSE_UUID):
        assert u in text


@pytest.mark.parametrize("name", [k for k, v in EXAMPLES.items() if v[1]["kind"] == "data"])
def test_data_examples(name):
    (raw,), exp = EXAMPLES[name]
    pk = ti.decode_packet(raw)
    assert (pk.seq, pk.t_us, pk.flags, pk.n) == (exp["seq"], exp["t_us"], exp["flags"], exp["n"])
    assert pk.acc_range_g == exp["acc_range_g"] and pk.gyr_range_dps == exp["gyr_range_dps"]
    assert pk.impulse_pending == exp.get("impulse_pending", False)
    np.testing.assert_allclose(pk.acc_m_s2, exp["acc_m_s2"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(pk.gyr_rad_s, exp["gyr_rad_s"], rtol=1e-12, atol=1e-12)
    if exp["mag"]:
        np.testing.assert_allclose(pk.mag_uT, exp["mag_uT"], rtol=1e-12)
    else:
        assert pk.mag_uT is None
    # The reference encoder reproduces the bytes exactly from the decoded values.
    again = ti.encode_packet_ref(
        pk.seq, pk.t_us, pk.acc_m_s2.tolist(), pk.gyr_rad_s.tolist(),
        None if pk.mag_uT is None else pk.mag_uT.tolist(),
        acc_range_g=pk.acc_range_g, gyr_range_dps=pk.gyr_range_dps, impulse_pending=pk.impulse_pending,
    )
    assert again == raw


def test_data_after_wrap_session_time():
    (raw,), exp = EXAMPLES["data-after-wrap"]
    (prev,), _ = EXAMPLES[exp["after"]]
    dec = ti.PROFILE.make_decoder(exp["rate_hz"])
    b0 = dec.feed(ti.DATA_UUID, prev, 100.0)
    b1 = dec.feed(ti.DATA_UUID, raw, 100.01)
    assert b0.t_s.tolist() == [0.0]
    np.testing.assert_allclose(b1.t_s, exp["t_s"], atol=1e-9)
    assert b1.lost_samples == exp["lost_samples"]
    assert dec.stats["lost_packets"] == exp["lost_packets"]


@pytest.mark.parametrize("name", [k for k, v in EXAMPLES.items() if v[1]["kind"] == "config"])
def test_config_examples(name):
    (raw,), exp = EXAMPLES[name]
    if "att_error" in exp:
        with pytest.raises(ti.ConfigError) as err:
            ti.decode_config(raw)
        assert err.value.att_error == exp["att_error"]
        return
    cfg = ti.decode_config(raw)
    fields = {k: v for k, v in exp.items() if k != "kind"}
    assert {k: getattr(cfg, k) for k in fields} == fields
    assert ti.encode_config(cfg) == raw


def test_status_example():
    (raw,), exp = EXAMPLES["status"]
    st = ti.decode_status(raw)
    assert {k: getattr(st, k) for k in exp if k != "kind"} == {k: v for k, v in exp.items() if k != "kind"}
    assert ti.encode_status(st) == raw


def test_impulse_example():
    frags, exp = EXAMPLES["impulse"]
    asm = ti.ImpulseAssembler()
    assert asm.feed(frags[0]) is None
    w = asm.feed(frags[1])
    assert w is not None
    for k in ("impulse_id", "t_us", "rate_hz", "trigger_index", "acc_range_g", "clipped"):
        assert getattr(w, k) == exp[k], k
    assert w.acc_m_s2.shape == (exp["n"], 3)
    np.testing.assert_allclose(w.acc_m_s2, exp["acc_m_s2"], rtol=1e-12)
    assert ti.encode_impulse(w.impulse_id, w.t_us, w.acc_m_s2, rate_hz=w.rate_hz,
                             trigger_index=w.trigger_index, acc_range_g=w.acc_range_g, mtu=27) == frags


def test_samples_per_mtu_table():
    assert [ti.max_samples_per_packet(m, x) for m in (23, 185, 247, 517) for x in (False, True)] == [
        1, 0, 14, 9, 19, 13, 42, 28]

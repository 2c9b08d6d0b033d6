"""The slider mapping is pure, monotone and stays in valid ranges."""

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from copy_engine.channels import CHANNELS
from copy_engine.controls import Controls, map_controls
from copy_engine.errors import InputError

unit = st.floats(0, 1, allow_nan=False)
signed = st.floats(-1, 1, allow_nan=False)
channels = st.sampled_from(sorted(CHANNELS))


@given(signed, unit, unit, channels)
def test_mapping_stays_in_valid_ranges(sentiment, creativity, cta, channel):
    m = map_controls(Controls(sentiment, creativity, cta), channel)
    d = m.decoding
    assert 0 < d.temperature <= 2
    assert 0 < d.top_p <= 1
    assert d.top_k >= 1
    assert d.repetition_penalty >= 1
    assert d.no_repeat_ngram_size >= 0
    assert d.max_new_tokens == CHANNELS[channel].max_new_tokens
    assert -1 <= m.adapters.tone <= 1 and 0 <= m.adapters.creative <= 1 and 0 <= m.adapters.cta <= 1
    assert 0 <= m.lam <= 1


def test_temperature_at_the_ends_and_default_of_the_slider():
    """The few-shot pipeline: 0.7 of the earlier 0.55 -> 1.15 on every channel but search ad headlines (blind
    labels, README "Cooler sampling"), which keep it. The copywriter pipeline: its best-of continuation samples at
    0.55 -> 1.15 on its channels (README "Best-of, hotter"), its preference-tuned version at 0.7 -> 1.3 on its own
    (README "Preference tuning"), its second round at 0.85 -> 1.45 on its own (README "A second preference round")
    but 0.7 -> 1.3 on descriptions (README "Short descriptions"); the rest of the decoding is the same."""
    from copy_engine.controls import BEST_OF_CHANNELS, PREFERENCE_2_CHANNELS, PREFERENCE_CHANNELS

    for channel in CHANNELS:
        maps = [map_controls(Controls(0, c, 0.5), channel) for c in (0.0, 0.5, 1.0)]
        want = [0.55, 0.85, 1.15] if channel == "ad_headline" else [0.385, 0.595, 0.805]
        assert [m.decoding.temperature for m in maps] == pytest.approx(want), channel
        hot = [0.55, 0.85, 1.15] if channel in BEST_OF_CHANNELS else want
        hot = [0.7, 1.0, 1.3] if channel in PREFERENCE_CHANNELS else hot
        hot = [0.85, 1.15, 1.45] if channel in PREFERENCE_2_CHANNELS else hot
        hot = [0.7, 1.0, 1.3] if channel == "description" else hot
        assert [m.copywriter_decoding.temperature for m in maps] == pytest.approx(hot), channel
        for m in maps:
            assert replace(m.copywriter_decoding, temperature=m.decoding.temperature) == m.decoding


@given(unit, unit, channels)
def test_creativity_is_monotone(a, b, channel):
    lo, hi = sorted((a, b))
    m1, m2 = map_controls(Controls(0, lo, 0.5), channel), map_controls(Controls(0, hi, 0.5), channel)
    assert m1.decoding.temperature <= m2.decoding.temperature
    assert m1.decoding.top_p <= m2.decoding.top_p
    assert m1.decoding.top_k <= m2.decoding.top_k
    assert m1.decoding.repetition_penalty <= m2.decoding.repetition_penalty
    # Stricter n-gram blocking (smaller n) as creativity rises.
    assert m1.decoding.no_repeat_ngram_size >= m2.decoding.no_repeat_ngram_size
    assert m1.adapters.creative <= m2.adapters.creative
    assert m1.lam <= m2.lam


@given(signed, signed, unit)
def test_sentiment_and_cta_drive_their_adapters_monotonically(s1, s2, c):
    lo, hi = sorted((s1, s2))
    assert map_controls(Controls(lo, 0.5, c), "headline").adapters.tone <= map_controls(Controls(hi, 0.5, c), "headline").adapters.tone
    a, b = sorted((abs(s1), abs(s2)))
    assert map_controls(Controls(0, 0.5, a), "headline").adapters.cta <= map_controls(Controls(0, 0.5, b), "headline").adapters.cta


def test_sentiment_and_cta_do_not_change_decoding():
    base = map_controls(Controls(0, 0.5, 0.5), "headline").decoding
    assert map_controls(Controls(1, 0.5, 1), "headline").decoding == base


@pytest.mark.parametrize("kwargs", [{"sentiment": 1.5}, {"sentiment": -1.01}, {"creativity": -0.1}, {"cta": 2}, {"cta": float("nan")}])
def test_out_of_range_sliders_are_rejected(kwargs):
    with pytest.raises(InputError):
        Controls(**kwargs)


def test_unknown_channel_is_rejected():
    with pytest.raises(InputError, match="unknown channel"):
        map_controls(Controls(), "billboard")


def test_sentiment_sign_reaches_the_tone_weight():
    # Below zero the mixer turns the calm adapter on at |tone| (tests/test_adapters.py).
    assert map_controls(Controls(-1, 0.5, 0.5), "headline").adapters.tone < 0
    assert map_controls(Controls(0, 0.5, 0.5), "headline").adapters.tone == 0
    assert map_controls(Controls(1, 0.5, 0.5), "headline").adapters.tone > 0


def test_slider_text_names_only_the_copywriter_adapters_that_ship(tmp_path, monkeypatch):
    from copy_engine.adapters import registry
    from ui.controls import mapping_caption, slider_help

    (tmp_path / "copywriter-cta.safetensors").write_bytes(b"")  # only cta ships here
    monkeypatch.setattr(registry, "SHIPPED_DIR", tmp_path)
    assert "CTA adapter weight (0 at 0, 0.5 at 1)" in slider_help("cta", "headline")
    assert "adapter" not in slider_help("sentiment", "headline") and "adapter" not in slider_help("creativity", "headline")
    caption = mapping_caption(Controls(sentiment=1.0, creativity=1.0, cta=1.0), "headline", copywriter=True)
    assert "its adapters: cta 0.5 ·" in caption and "tone 0.5" not in caption and "creative 0.5" not in caption
    assert "its adapters" not in mapping_caption(Controls(cta=0.0), "headline", copywriter=True)


def test_slider_text_gives_the_decoding_of_the_pipeline_the_app_runs(monkeypatch):
    from copy_engine.adapters import registry
    from ui.controls import mapping_caption, slider_help

    assert "temperature 1.15," in mapping_caption(Controls(), "headline", copywriter=True)  # its second round
    assert "temperature 1," in mapping_caption(Controls(), "description", copywriter=True)  # there, cooler
    assert "temperature 1," in mapping_caption(Controls(), "ad_description", copywriter=True)  # preference-tuned
    assert "temperature 1," in mapping_caption(Controls(), "social", copywriter=True)  # preference-tuned (reads 91-92)
    assert "temperature 0.85," in mapping_caption(Controls(), "ad_headline", copywriter=True)  # best-of, hotter
    assert "temperature 0.595," in mapping_caption(Controls(), "description", copywriter=False)
    assert "temperature 0.595," in mapping_caption(Controls(), "email_subject", copywriter=True)
    assert "At 0: temperature 0.7," in slider_help("creativity", "social")
    monkeypatch.setattr(registry, "COPYWRITER_FILE", registry.COPYWRITER_FILE.with_name("missing.safetensors"))
    assert "At 0: temperature 0.385," in slider_help("creativity", "social")

"""The three sliders and the one pure function that maps them to decoding and adapters.

Everything the sliders do goes through `map_controls`, so the README table,
the UI help text and the tests describe the same thing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from copy_engine.channels import get_channel
from copy_engine.errors import InputError


@dataclass(frozen=True)
class Controls:
    """Slider values chosen by the copywriter."""

    sentiment: float = 0.0  # -1 calm/serious … 0 neutral … +1 enthusiastic
    creativity: float = 0.5  # 0 safe and literal … 1 bold and surprising
    cta: float = 0.5  # 0 no call to action … 1 strong call to action

    def __post_init__(self) -> None:
        for name, lo, hi in (("sentiment", -1.0, 1.0), ("creativity", 0.0, 1.0), ("cta", 0.0, 1.0)):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or value != value or not lo <= value <= hi:
                raise InputError(f"{name} must be between {lo:g} and {hi:g}, got {value!r}")


@dataclass(frozen=True)
class DecodingParams:
    """Sampling settings handed to the generator."""

    temperature: float  # softmax temperature; higher = more varied word choice
    top_p: float  # nucleus sampling mass
    top_k: int  # candidate tokens considered at each step
    # >1 discourages reusing tokens of the copy written so far (transformers backend; llama.cpp runs no penalty,
    # since its window would cover the prompt's facts: backends/llamacpp.py SAMPLERS)
    repetition_penalty: float
    no_repeat_ngram_size: int  # n-grams of this size may not repeat inside one variant (transformers backend, as above)
    max_new_tokens: int  # budget per variant, from the channel

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class AdapterWeights:
    """LoRA adapter mixing weights (0 = adapter off)."""

    tone: float  # enthusiastic-tone adapter; negative values switch on the calm adapter
    creative: float  # diversity/creativity adapter
    cta: float  # call-to-action adapter
    # The copywriter fine-tune (copy_engine/copywriter.py): 1 in the copywriter pipeline, 0 in the few-shot one.
    copywriter: float = 0.0
    # Share of the copywriter's weight given to its best-of continuation (adapters/shipped/best-of, trained on its
    # own copy that readers would publish) instead: 1 on the channels where it reads better (BEST_OF_CHANNELS).
    best_of: float = 0.0
    # Share of the best-of continuation's weight given to its preference-tuned version (adapters/shipped/preference,
    # copy_engine/preference.py) instead: 1 on the channels where it reads better (PREFERENCE_CHANNELS).
    preference: float = 0.0
    # Share of the preference-tuned version's weight given to its second round (adapters/shipped/preference-2, DPO
    # again on its own labelled candidates) instead: 1 on the channels where it reads better (PREFERENCE_2_CHANNELS).
    preference_2: float = 0.0
    # Share of the preference-tuned version's weight given to its own round on social posts instead
    # (adapters/shipped/preference-social, DPO from it on its labelled social posts): 1 on PREFERENCE_SOCIAL_CHANNELS.
    preference_social: float = 0.0
    # The same on ad descriptions (adapters/shipped/preference-ad, DPO from the first round on its labelled ad
    # descriptions): 1 on PREFERENCE_AD_CHANNELS.
    preference_ad: float = 0.0
    # Share of the second round's weight given to its own round on product headlines instead
    # (adapters/shipped/preference-headline, DPO from it on its labelled headlines): 1 on PREFERENCE_HEADLINE_CHANNELS.
    preference_headline: float = 0.0
    # Share of the best-of continuation's weight given to its own preference round on search ad headlines instead
    # (adapters/shipped/preference-ad-headline, DPO from it on its labelled ad headlines): 1 on
    # PREFERENCE_AD_HEADLINE_CHANNELS.
    preference_ad_headline: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)

    def rounded(self, step: float = 0.25) -> "AdapterWeights":
        """Weights snapped to a grid, so merged adapter mixes can be cached and reused."""
        snap = lambda v: round(round(v / step) * step, 4)  # noqa: E731
        return replace(self, tone=snap(self.tone), creative=snap(self.creative), cta=snap(self.cta))

    def is_zero(self) -> bool:
        return self.tone == 0 and self.creative == 0 and self.cta == 0 and self.copywriter == 0


# Channels whose copy the copywriter's best-of continuation writes, and the temperature range it samples at there
# (creativity 0 and 1, linear between: 0.85 at the default slider). At the copywriter's cooler 0.385 -> 0.805 it read
# better on descriptions and ad headlines only (blind read 64): it writes fewer different drafts, so on the other
# channels the pool held fewer usable ones. Hotter, it reads better on four more: blind read 65 (20 unseen products,
# every candidate labelled by two readers), shown usable of 80, before -> after: descriptions (best-of at 0.595
# before) 17, 16 -> 21, 21; product headlines (the copywriter at 0.595 before) 38, 39 -> 44, 43; social posts
# 22, 20 -> 33, 32; ad descriptions 35, 39 -> 44, 49. Email subjects read level (57, 58 -> 58, 57) and keep the
# copywriter. Ad headlines sampled at this range already (channels.py).
BEST_OF_CHANNELS = ("description", "ad_headline", "headline", "social", "ad_description")
BEST_OF_TEMPERATURE = (0.55, 1.15)
# Channels where the best-of continuation's preference-tuned version (DPO on labelled pairs: copy_engine/preference.py)
# writes instead, and the range it samples at there (1.0 at the default slider). Tuned, it writes fewer different
# drafts, and hotter sampling gives them back: blind reads 68 and 69 (20 unseen products each; every candidate of both
# labelled by the same two readers), shown usable of 80, best-of at 0.85 -> tuned at 1.0: descriptions 28, 28 -> 32,
# 34 and 22, 23 -> 25, 29; product headlines 49, 46 -> 50, 54 and 54, 51 -> 62, 59 (at 0.85 the tuned one lost
# descriptions, 26, 22 -> 20, 20: README "Preference-tuned, hotter"). Read 70: ad descriptions 53, 55 -> 56, 63;
# social posts level then (41, 38 -> 41, 38, from 12 drafts). From 24 drafts (channels.py) social posts read better
# with it: blind reads 91 and 92 (the shown sets of 20 unseen products each, two new readers each), shown usable
# 39, 43 -> 51, 52 of 80 and 45, 43 -> 46, 47 (of 79); top pick 23, 26 -> 27, 29 of 40. Ad headlines keep the
# best-of continuation (not read).
PREFERENCE_CHANNELS = ("description", "headline", "ad_description", "social")
PREFERENCE_TEMPERATURE = (0.7, 1.3)
# Channels where the preference-tuned version's second round writes instead (DPO from it, on 807 pairs of its own
# candidates for 398 training-split rows, labelled by readers), and its range (1.15 at the default slider). Blind
# reads 71 and 72 (20 unseen products each, every candidate labelled by the same two readers; README "A second
# preference round"): descriptions and product headlines read better at 1.15; ad descriptions read worse at 1.0
# and at 1.15 (54, 51 -> 50, 47 and 55, 54 -> 50, 49), so they keep the first round.
PREFERENCE_2_CHANNELS = ("description", "headline")
PREFERENCE_2_TEMPERATURE = (0.85, 1.45)
# Descriptions sample it cooler since their pools keep every short and near-duplicate draft (README "Short
# descriptions"): a cooler draw garbles fewer facts, and the repeats it writes no longer cost the pool. Blind reads
# 77 and 78 (the shown sets of 20 unseen products each, both settings labelled blind by the same two new readers),
# shown usable at 1.15 -> 1.0: 44, 44 -> 48, 47 of 80 and 41, 39 -> 46, 43; 16 products better, 9 worse; top pick
# usable 49 -> 60 of 80 labels. Cooler still read worse (read 79, 1.0 -> 0.85: 45, 48 -> 41, 44 of 79).
PREFERENCE_2_TEMPERATURE_BY_CHANNEL = {"description": (0.7, 1.3)}
# Channels where the preference-tuned version's own round on social posts writes instead (DPO from it, on 623 pairs of
# its own social posts for 283 training-split rows, labelled by readers), at the first round's range
# (PREFERENCE_TEMPERATURE: 1.0 at the default slider). Blind reads 99 and 100 (the shown sets of 20 unseen products
# each, both settings labelled blind by two new readers each; README "A preference round for social posts"), shown
# usable of 80: 33, 33 -> 46, 44 and 36, 39 -> 48, 50; 24 products better, 6 worse; top pick usable 38 -> 54 of 80
# labels. The second round, trained on descriptions and product headlines only, read no better on social posts (read
# 98: 48, 48 -> 46, 44), nor did a second social round from this one on its own labelled posts (reads 105-106: 57, 56
# -> 55, 55 and 46, 57 -> 38, 48; 13 products better, 18 worse).
PREFERENCE_SOCIAL_CHANNELS = ("social",)
# Channels where the first round's own round on ad descriptions writes instead (DPO from it, on 310 pairs of its own
# ad descriptions for 163 training-split rows, labelled by readers for the third preference round), at the first
# round's range. Blind reads 101-103 (the shown sets of 20 unseen products each, both settings labelled blind by two
# new readers each; README "A preference round for ad descriptions"), shown usable of 80 (78 where a set ran short):
# 52, 53 -> 63, 63 (of 78); 50, 49 -> 49, 50 (of 78); 51, 51 -> 61, 62; 28 products better, 13 worse; top pick
# usable 90 -> 104 of 120 labels. It writes fewer different drafts: 2 of 60 sets showed two variants.
PREFERENCE_AD_CHANNELS = ("ad_description",)
# Channels where the second round's own round on product headlines writes instead (DPO from it, on 352 pairs of its
# own headlines for 212 training-split rows, labelled by readers), at the second round's range. Blind reads 111-113
# (the shown sets of 20 unseen products each, both settings labelled blind by two new readers each; README "A
# preference round for product headlines"), shown usable of 80: 62, 63 -> 66, 68; 62, 64 -> 65, 68; 59, 59 -> 59,
# 67; 22 products better, 14 worse; top pick usable 96 -> 112 of 120 labels.
PREFERENCE_HEADLINE_CHANNELS = ("headline",)
# Channels where the best-of continuation's own preference round on search ad headlines writes instead (DPO from it,
# on 449 pairs of its own ad headlines for 251 training-split rows, labelled by readers), at the best-of range. Blind
# reads 114-116 (the shown sets of 20 unseen products each, both settings labelled blind by two new readers each;
# README "A preference round for ad headlines"), shown usable of 80: 51, 51 -> 59, 58; 38, 38 -> 57, 52; 53, 63 ->
# 61, 66; 29 products better, 10 worse; top pick usable 80 -> 97 of 120 labels.
PREFERENCE_AD_HEADLINE_CHANNELS = ("ad_headline",)


def best_of_share(channel: str) -> float:
    """AdapterWeights.best_of of a copywriter request on this channel."""
    return 1.0 if channel in BEST_OF_CHANNELS else 0.0


@dataclass(frozen=True)
class ControlMapping:
    """Everything the sliders decide for one request."""

    decoding: DecodingParams
    adapters: AdapterWeights  # slider adapter weights of the few-shot pipeline
    copywriter_adapters: AdapterWeights  # of the copywriter pipeline (its own slider adapters), copywriter on
    lam: float  # creativity weight λ of the overall score (1-λ goes to conversion)
    copywriter_decoding: DecodingParams  # of the copywriter pipeline (its best-of continuation samples hotter)

    def decoding_for(self, copywriter: bool) -> DecodingParams:
        """The decoding a request samples at: the copywriter pipeline's, or the few-shot one's."""
        return self.copywriter_decoding if copywriter else self.decoding


# Adapter weight at a slider's maximum (README, "LoRA adapters", has the
# measurements behind it). A negative tone weight switches on the `calm`
# adapter at that magnitude (adapters/mixing.py).
ADAPTER_SCALE = 0.5
DEFAULT_CONTROLS = Controls()  # the app's starting sliders


def _lerp(lo: float, hi: float, t: float) -> float:
    return lo + (hi - lo) * t


def map_controls(controls: Controls, channel: str) -> ControlMapping:
    """Map slider values to decoding parameters, adapter weights and λ.

    Creativity loosens sampling (temperature, top-p, top-k up), discourages
    repetition harder and mixes in the `creative` adapter; sentiment and CTA
    steer the `tone` and `cta` adapters (and the prompt, see prompts.py).
    """
    c = float(controls.creativity)
    ch = get_channel(channel)
    decoding = decoding_at(c, ch.temperature, ch.max_new_tokens)  # the channel's range (channels.Channel.temperature)
    best_of = best_of_share(channel)
    preference = 1.0 if best_of and channel in PREFERENCE_CHANNELS else 0.0
    preference_2 = 1.0 if preference and channel in PREFERENCE_2_CHANNELS else 0.0
    preference_social = 1.0 if preference and channel in PREFERENCE_SOCIAL_CHANNELS else 0.0
    preference_ad = 1.0 if preference and channel in PREFERENCE_AD_CHANNELS else 0.0
    preference_headline = 1.0 if preference_2 and channel in PREFERENCE_HEADLINE_CHANNELS else 0.0
    preference_ad_headline = 1.0 if best_of and not preference and channel in PREFERENCE_AD_HEADLINE_CHANNELS else 0.0
    # the copywriter pipeline's: its best-of continuation samples hotter (BEST_OF_TEMPERATURE), its preference-tuned
    # version hotter still (PREFERENCE_TEMPERATURE), its second round hotter again (PREFERENCE_2_TEMPERATURE; on
    # descriptions as cool as the first round: PREFERENCE_2_TEMPERATURE_BY_CHANNEL); the first round's own rounds on
    # social posts and ad descriptions (preference_social, preference_ad) at the first round's (PREFERENCE_TEMPERATURE)
    hot = (PREFERENCE_2_TEMPERATURE_BY_CHANNEL.get(channel, PREFERENCE_2_TEMPERATURE) if preference_2
           else PREFERENCE_TEMPERATURE if preference else BEST_OF_TEMPERATURE)
    copywriter_decoding = decoding_at(c, hot, ch.max_new_tokens) if best_of else decoding
    adapters = AdapterWeights(
        tone=round(ADAPTER_SCALE * float(controls.sentiment), 4),
        creative=round(ADAPTER_SCALE * c, 4),
        cta=round(ADAPTER_SCALE * float(controls.cta), 4),
    )
    # On the copywriter its own slider adapters ride with the prompt's Tone/Call-to-action wishes. CTA is linear
    # from 0, as above: blind read 18 found copywriter-cta at 0.25 (the default slider) gave more usable
    # headlines and ad headlines than without it (README). Creativity and tone have no copywriter adapter yet;
    # theirs would only reach beyond the default sliders (0 there, ADAPTER_SCALE at the end), whose copy the
    # blind reads measured.
    beyond = lambda v, default: max(0.0, (v - default) / (1.0 - default))  # noqa: E731
    on_copywriter = AdapterWeights(
        tone=round(ADAPTER_SCALE * float(controls.sentiment), 4),
        creative=round(ADAPTER_SCALE * beyond(c, DEFAULT_CONTROLS.creativity), 4),
        cta=round(ADAPTER_SCALE * float(controls.cta), 4),
        copywriter=1.0,
        best_of=best_of,
        preference=preference,
        preference_2=preference_2,
        preference_social=preference_social,
        preference_ad=preference_ad,
        preference_headline=preference_headline,
        preference_ad_headline=preference_ad_headline,
    )
    return ControlMapping(decoding, adapters, on_copywriter, round(c, 4), copywriter_decoding)


def decoding_at(c: float, temperature: tuple[float, float], max_new_tokens: int) -> DecodingParams:
    """The decoding at creativity `c` for a temperature range (at creativity 0 and 1; linear between)."""
    return DecodingParams(
        temperature=round(_lerp(*temperature, c), 4),
        top_p=round(_lerp(0.85, 0.98, c), 4),
        top_k=int(round(_lerp(20, 80, c))),
        repetition_penalty=round(_lerp(1.05, 1.2, c), 4),
        no_repeat_ngram_size=4 if c < 0.5 else 3,
        max_new_tokens=max_new_tokens,
    )


def validate_slider(name: str, value: float) -> float:
    """Validate one slider value by name (used by the CLI and pages)."""
    ranges = {"sentiment": (-1.0, 1.0), "creativity": (0.0, 1.0), "cta": (0.0, 1.0)}
    lo, hi = ranges[name]
    if value != value or not lo <= value <= hi:
        raise InputError(f"{name} must be between {lo:g} and {hi:g}, got {value!r}")
    return value

"""Slider help text generated from copy_engine.controls.map_controls, so the UI tells the truth."""

from __future__ import annotations

from copy_engine.controls import Controls, map_controls


def _decoding_text(d) -> str:
    return (
        f"temperature {d.temperature:g}, top-p {d.top_p:g}, top-k {d.top_k}, "
        f"repetition penalty {d.repetition_penalty:g}, no repeated {d.no_repeat_ngram_size}-grams "
        "(those two on the transformers backend; llama.cpp runs no repetition penalty, which there would also "
        "cover the product's facts)"
    )


def _shipped(slider: str) -> bool:
    """True when the copywriter pipeline's adapter for `slider` ships (copywriter-tone, copywriter-cta, ...)."""
    from copy_engine.adapters.mixing import ON_COPYWRITER
    from copy_engine.adapters.registry import SHIPPED_DIR

    return (SHIPPED_DIR / f"{ON_COPYWRITER}{slider}.safetensors").is_file()


def slider_help(name: str, channel: str) -> str:
    """Help text for one slider: what its two ends map to (decoding parameters, adapter weights, λ).

    Adapter weights are named only for the copywriter adapters that ship: the others have none to set.
    """
    if name == "sentiment":
        lo, hi = map_controls(Controls(sentiment=-1.0), channel), map_controls(Controls(sentiment=1.0), channel)
        adapter = ""
        if _shipped("tone") or _shipped("calm"):
            adapter = (f" and the tone adapter weight ({lo.copywriter_adapters.tone:+g} at −1, "
                       f"{hi.copywriter_adapters.tone:+g} at +1; the calm adapter below 0)")  # fmt: skip
        return (
            "−1 calm and serious · 0 neutral · +1 enthusiastic. "
            f"Sets the tone asked for in the prompt{adapter}; "
            "the tone score checks the copy reads the way you asked."
        )
    if name == "creativity":
        lo, hi = map_controls(Controls(creativity=0.0), channel), map_controls(Controls(creativity=1.0), channel)
        adapter = f", creative adapter {hi.copywriter_adapters.creative:g} (none up to the middle)" if _shipped("creative") else ""
        from copy_engine.adapters.registry import copywriter_installed

        cw = copywriter_installed()  # the app runs the copywriter pipeline, and samples at its decoding, when it ships
        return (
            "0 safe and literal · 1 bold and surprising. "
            f"At 0: {_decoding_text(lo.decoding_for(cw))}. At 1: {_decoding_text(hi.decoding_for(cw))}{adapter}. "
            "It is also λ, the creativity share of the overall score (1 − λ goes to conversion), "
            "and it makes the reranker favour more different variants."
        )
    if name == "cta":
        hi = map_controls(Controls(cta=1.0), channel)
        adapter = f", sets the CTA adapter weight (0 at 0, {hi.copywriter_adapters.cta:g} at 1)" if _shipped("cta") else ""
        return (
            "0 no call to action · 1 strong call to action. "
            f"Asks for a call to action in the prompt (none, soft, strong){adapter}, and decides how much the "
            "CTA score counts in conversion (not at all at 0, double at 1)."
        )
    raise ValueError(f"no slider called {name!r}")


def mapping_caption(controls: Controls, channel: str, copywriter: bool = False) -> str:
    """The current slider settings as the engine will use them (one line, for a caption).

    With the copywriter fine-tune the wishes go into its prompt and its own slider adapters, those that
    ship, take the weights (copywriter_adapters).
    """
    from copy_engine.prompts import cta_label, tone_label

    m = map_controls(controls, channel)
    if copywriter:
        a = m.copywriter_adapters
        steer = (f"copywriter fine-tune, asked for tone “{tone_label(controls.sentiment)}” and call to action "
                 f"“{cta_label(controls.cta)}”")  # fmt: skip
        weights = {"calm" if a.tone < 0 else "tone": abs(a.tone), "creative": a.creative, "cta": a.cta}
        on = [f"{n} {w:g}" for n, w in weights.items() if w and _shipped(n)]
        if on:
            steer += "; its adapters: " + ", ".join(on)
    else:
        a = m.adapters
        steer = f"adapters: tone {a.tone:+g}, creative {a.creative:g}, CTA {a.cta:g}"
    d = m.decoding_for(copywriter)
    return (
        f"Decoding: {_decoding_text(d)}, up to {d.max_new_tokens} new tokens · "
        f"{steer} · λ {m.lam:g}"
    )

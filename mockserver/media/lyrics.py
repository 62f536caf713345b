"""Mock words: song lyrics about a prompt, titles, blended lyric sheets and voice validation phrases.

Deterministic text for the data results of the music actions: the same seed and prompt give the same words,
another seed other words, and the prompt's own words appear in them, so a reader sees which request made them.
"""

from __future__ import annotations

from .tones import seed_bytes

__all__ = ["PHRASES", "blend", "lyrics", "sung", "title", "validation_phrase"]

_IMAGES = ("city lights", "open road", "morning rain", "silver moon", "summer air", "quiet sea", "paper stars",
           "neon sky", "falling snow", "golden hour", "river stones", "midnight train")
_FEELINGS = ("I keep coming back to", "we were dancing with", "you left me holding", "I still remember",
             "we are running from", "I was dreaming of", "hold on to", "sing about")
_STOP = {"a", "an", "the", "of", "and", "or", "to", "in", "on", "for", "with", "about", "song", "music", "track"}
# Sentences a singer reads aloud to prove a voice is theirs (Suno's voice_to_validation_phrase), per language.
PHRASES: dict[str, tuple[str, ...]] = {
    "en": ("The bright morning light sings over the quiet river", "Every small song carries a story home",
           "Seven silver birds fly above the golden field"),
    "zh": ("清晨的阳光洒在安静的河面上", "每一首小歌都带着故事回家"),
    "es": ("La luz de la mañana canta sobre el río tranquilo", "Cada canción pequeña lleva una historia a casa"),
    "fr": ("La lumière du matin chante sur la rivière calme", "Chaque petite chanson ramène une histoire"),
    "pt": ("A luz da manhã canta sobre o rio tranquilo", "Cada pequena canção leva uma história para casa"),
    "de": ("Das helle Morgenlicht singt über dem stillen Fluss", "Jedes kleine Lied trägt eine Geschichte heim"),
    "ja": ("朝の光が静かな川の上で歌う", "小さな歌はいつも物語を運ぶ"),
    "ko": ("아침 햇살이 고요한 강 위에서 노래한다", "작은 노래마다 이야기를 싣고 집으로 간다"),
    "hi": ("सुबह की रोशनी शांत नदी पर गाती है", "हर छोटा गीत एक कहानी घर लाता है"),
    "ru": ("Утренний свет поёт над тихой рекой", "Каждая песня несёт историю домой"),
}


def _topic(prompt: str) -> list[str]:
    words = [w.strip(".,!?;:\"'()").lower() for w in prompt.split()]
    return [w for w in words if w and w not in _STOP] or ["tonight"]


def title(seed: str, prompt: str) -> str:
    """A short title from the prompt's first words (a seeded image when the prompt has none)."""
    words = _topic(prompt)[:3]
    if words == ["tonight"]:
        words = _IMAGES[seed_bytes(seed, "title")[0] % len(_IMAGES)].split()
    return " ".join(w.capitalize() for w in words)


def lyrics(seed: str, prompt: str) -> str:
    """A verse, a chorus and a verse about the prompt: Suno's section tags, eight-word-ish lines."""
    digest = seed_bytes(seed, "lyrics")
    topic = _topic(prompt)

    def line(i: int) -> str:
        feeling = _FEELINGS[digest[i % len(digest)] % len(_FEELINGS)]
        image = _IMAGES[digest[(i + 7) % len(digest)] % len(_IMAGES)]
        return f"{feeling} the {topic[i % len(topic)]} and the {image}"

    verse1 = [line(i) for i in range(4)]
    chorus = [f"Oh {topic[0]}, {topic[0]}", line(4), f"Oh {topic[0]}, {topic[0]}", line(5)]
    verse2 = [line(i) for i in range(6, 10)]
    return "\n".join(["[Verse]", *verse1, "", "[Chorus]", *chorus, "", "[Verse]", *verse2])


def sung(sheet: str) -> list[str]:
    """The words a lyric sheet's singer sings, in order: every line's words but its section tags ("[Verse]")."""
    return [word for line in sheet.splitlines() if not _is_tag(line) for word in line.split()]


def _is_tag(line: str) -> bool:
    text = line.strip()
    return text.startswith("[") and text.endswith("]")


def blend(lyrics_a: str, lyrics_b: str) -> str:
    """The lines of two lyric sheets taken in turn (a then b), blank lines and section tags kept once."""
    a = [line for line in lyrics_a.splitlines() if line.strip()]
    b = [line for line in lyrics_b.splitlines() if line.strip()]
    out: list[str] = []
    for i in range(max(len(a), len(b))):
        out += [side[i] for side in (a, b) if i < len(side) and (not out or out[-1] != side[i])]
    return "\n".join(out)


def validation_phrase(seed: str, language: str | None = None) -> str:
    """A sentence to record in `language` (English when unset or unknown), chosen by `seed`."""
    phrases = PHRASES.get(language or "en", PHRASES["en"])
    return phrases[seed_bytes(seed, "phrase")[0] % len(phrases)]

"""The support bot around a saved intent model: replies, the hand-over to a human, and safe handling of any input.

Every message gets an answer: the reply of the intent the model is sure of, a hand-over below the saved
confidence threshold, or a safe reply for input that is not a question (empty, not text, emoji only, too long).
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO

import yaml

from finetune_cookbook.core.config import Yaml12Loader
from finetune_cookbook.core.errors import DataError
from finetune_cookbook.core.io.readers import read_table
from finetune_cookbook.core.saving import model_folder, read_model_info

RESPONSES_FILE = "responses.json"
EMPTY_REPLY = "Please type your question, and I'll do my best to help."
NOT_TEXT_REPLY = "I can only read questions written in words. Could you type your question?"
LONG_REPLY = "That's a long message, so I'm passing it to a colleague who can read it all."


# ------------------------------------------------------------------------------------------------ responses


def read_responses(path: str | Path) -> dict[str, str]:
    """Intent -> reply from YAML or JSON (a mapping) or a table with columns `intent` and `response`."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: responses file not found. Set intent.responses to a YAML file of intent: reply.")
    if path.suffix.lower() in {".yaml", ".yml", ".json"}:
        try:
            mapping = yaml.load(path.read_text(encoding="utf-8-sig"), Loader=Yaml12Loader)
        except (yaml.YAMLError, UnicodeDecodeError) as error:
            raise DataError(f"{path}: not readable as YAML or JSON: {error}") from error
        if not isinstance(mapping, dict) or not mapping:
            raise DataError(f"{path}: expected a mapping of intent to reply, such as `card_arrival: Your card ...`.")
        responses = {str(k).strip(): "" if v is None else str(v).strip() for k, v in mapping.items()}
    else:
        table = read_table(path)
        missing = [c for c in ("intent", "response") if c not in table.columns]
        if missing:
            raise DataError(f"{path}: column(s) {', '.join(missing)} missing; a responses table has columns intent "
                            f"and response (found: {', '.join(c for c in table.columns if c != 'row')}).")
        repeated = table[table["intent"].str.strip().duplicated()]
        if not repeated.empty:
            raise DataError(f"{path}: intent(s) {', '.join(sorted(set(repeated['intent'])))} have more than one "
                            f"reply (rows {', '.join(map(str, repeated['row'].head(5)))}); keep one each.")
        responses = dict(zip(table["intent"].str.strip(), table["response"].str.strip()))
    empty = sorted(intent for intent, reply in responses.items() if not reply)
    if empty:
        raise DataError(f"{path}: intent(s) {', '.join(empty)} have an empty reply; write one for each.")
    return responses


def _first(names: list[str], shown: int = 5) -> str:
    return ", ".join(names[:shown]) + (f" and {len(names) - shown} more" if len(names) > shown else "")


def check_responses(responses: dict[str, str], intents: list[str], origin: str, data_origin: str,
                    strict: bool = True) -> list[str]:
    """Compares a responses file's intents with the model's. An intent without a reply gets the default reply
    (the intent's name), and a reply for an intent the model never learned is a sign of a typo or a stale file.

    `strict` (a file given to a trained model): either is an error. Otherwise (training): notes, returned, and a
    file that shares no intent with the data is not used at all."""
    without_data = sorted(set(responses) - set(intents))
    without_reply = [intent for intent in intents if intent not in responses]
    if not strict and len(without_reply) == len(intents):
        return [f"intent.responses ({origin}) names none of the {len(intents)} intents of {data_origin}, so it is not "
                "used: the bot names the intent it understood. Write a reply file for these intents, or unset "
                "intent.responses to drop this note."]
    problems = []
    if without_data:
        problems.append(f"it names {len(without_data)} intent(s) with no training data ({_first(without_data)}): fix "
                        "the names, or remove them from the file")
    if without_reply:
        problems.append(f"{len(without_reply)} intent(s) have no reply ({_first(without_reply)}): "
                        + ("add a reply for each" if strict else "the bot names the intent it understood for them; "
                           "add a reply for each to change that"))
    if problems and strict:
        raise DataError(f"{origin}: " + "; and ".join(problems) + ".")
    return [f"intent.responses ({origin}): " + "; and ".join(problems) + "."] if problems else []


# ------------------------------------------------------------------------------------------------ messages

_SEPARATING = {"Cc", "Cs", "Co", "Cn"}  # control codes and unassigned points: read as a space
_INVISIBLE = {"Cf"}  # zero-width and format marks: removed, so words joined by them stay whole


def clean_message(message) -> tuple[str | None, str | None]:
    """The message as text fit for the model, or None and why not (`empty`, `not text`)."""
    if isinstance(message, (bytes, bytearray)):
        try:
            message = bytes(message).decode("utf-8")
        except UnicodeDecodeError:
            return None, "not text"
    if not isinstance(message, str):
        return None, "not text"
    text = "".join(" " if unicodedata.category(ch) in _SEPARATING else ch for ch in message
                   if unicodedata.category(ch) not in _INVISIBLE)
    text = re.sub(r"\s+", " ", text).strip()
    if not text:
        return None, "empty"
    if not any(unicodedata.category(ch)[0] in "LN" for ch in text):  # emoji, punctuation or symbols only
        return None, "not text"
    return text, None


@dataclass
class BotReply:
    message: str
    intent: str | None  # the model's best guess (None when the message never reached the model)
    confidence: float | None
    answered: bool
    reply: str
    reason: str  # answered, low confidence, too long, empty, not text

    def shown_message(self, limit: int = 200) -> str:
        """The message as a chat log shows it: control codes written as escapes (never sent to the terminal),
        a very long one cut, with its length."""
        safe = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in self.message[:limit])
        return safe if len(self.message) <= limit else f"{safe}... ({len(self.message):,} characters)"

    def as_text(self) -> str:
        if self.intent is None:
            return f"  ({self.reason})\n  bot: {self.reply}"
        how = "answered" if self.answered else f"handed over: {self.reason}"
        return f"  intent {self.intent}, confidence {self.confidence:.2f} ({how})\n  bot: {self.reply}"


class Bot:
    """A saved intent model with its replies and hand-over threshold."""

    def __init__(self, model_dir: str | Path, responses: str | Path | None = None):
        from transformers import pipeline

        from finetune_cookbook.text import sentence_classifier  # noqa: F401  (registers the probe-started model class with transformers)

        self.folder = model_folder(model_dir)
        self.info = read_model_info(self.folder)
        if "fallback" not in self.info:
            raise DataError(f"{self.folder}: this model has no hand-over threshold; train it with task "
                            "`intent_classification` (cookbook train <intent config>).")
        self.threshold = float(self.info["fallback"]["threshold"])
        self.handover_reply = self.info.get("handover_reply", "Let me pass you to a colleague.")
        self.max_chars = int(self.info.get("max_message_chars", 1000))
        self.classifier = pipeline("text-classification", model=str(self.folder), top_k=1, device=-1)
        intents = list(self.classifier.model.config.id2label.values())
        if responses is not None:
            self.responses = read_responses(responses)
            check_responses(self.responses, intents, str(responses), f"the model in {self.folder}")
        else:
            saved = self.folder / RESPONSES_FILE
            self.responses = json.loads(saved.read_text(encoding="utf-8")) if saved.is_file() else {}

    def reply(self, message) -> BotReply:
        text, problem = clean_message(message)
        # as the user sent it (bytes that are not UTF-8 decoded with replacement characters); `shown_message`
        # escapes what a terminal must not receive
        sent = (bytes(message).decode("utf-8", errors="replace") if isinstance(message, (bytes, bytearray))
                else message if isinstance(message, str) else repr(message))
        if problem == "empty":
            return BotReply(sent, None, None, False, EMPTY_REPLY, problem)
        if problem:
            return BotReply(sent, None, None, False, NOT_TEXT_REPLY, problem)
        if len(text) > self.max_chars:
            return BotReply(text, None, None, False, LONG_REPLY, "too long")
        scores = self.classifier([text], truncation=True, max_length=self.info.get("max_length", 128))[0]
        best = scores[0] if isinstance(scores, list) else scores
        intent, confidence = best["label"], float(best["score"])
        if confidence < self.threshold:
            return BotReply(text, intent, confidence, False, self.handover_reply, "low confidence")
        reply = self.responses.get(intent, f"I understood this as {intent.replace('_', ' ')}.")
        return BotReply(text, intent, confidence, True, reply, "answered")


def chat(bot: Bot, lines: IO[bytes], out: IO[str], interactive: bool, as_json: bool = False) -> int:
    """Answers each line of `lines` (bytes, so a line that is not UTF-8 gets a safe reply, not a crash).
    Returns the number of messages answered."""
    count = 0
    if interactive:
        out.write(f"Type a message (threshold {bot.threshold:.2f}; an empty line or Ctrl-D ends).\n")
    while True:
        if interactive:
            out.write("you> ")
            out.flush()
        raw = lines.readline()
        if not raw:
            break
        raw = raw.rstrip(b"\r\n")
        if interactive and not raw.strip():
            break
        try:
            message = raw.decode("utf-8")
        except UnicodeDecodeError:
            message = raw  # bytes: the bot says it cannot read it
        answer = bot.reply(message)
        count += 1
        if as_json:
            out.write(json.dumps(asdict(answer), ensure_ascii=False) + "\n")
        else:
            out.write(("" if interactive else f"> {answer.shown_message()}\n") + answer.as_text() + "\n")
        out.flush()
    return count


def chat_widget(bot: Bot):
    """A text box and a Send button that show each answer, for notebooks (ipywidgets)."""
    import ipywidgets as widgets

    box = widgets.Text(placeholder="Type a customer message and press Send", layout=widgets.Layout(width="70%"))
    send = widgets.Button(description="Send", button_style="primary")
    log = widgets.Output()

    def answer(_=None):
        with log:
            reply = bot.reply(box.value)
            print(f"> {reply.shown_message()}\n{reply.as_text()}")
        box.value = ""

    send.on_click(answer)
    return widgets.VBox([widgets.HBox([box, send]), log])

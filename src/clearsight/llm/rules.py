"""Interpretable injection rules: each names a tactic an attacker uses, so a verdict can say *why*.

A rule alone does not decide. Its hit is a feature of the learned classifier, which has seen the same phrases in
benign text ("ignore the typos", "act as my interviewer", a README's "system:" key) and weighs them accordingly.
The reasons a detection reports are the rules that fired. Adding a rule means adding one entry to ``RULES``
and retraining (``python -m clearsight.llm.train``).

Needles (plain substrings, one of which must occur) keep the regular expressions off texts they cannot match:
that is most of the detector's speed. Patterns only use bounded gaps between words (``_gap``) made of
alternating disjoint classes, so matching stays linear in the text's length.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass


def _gap(words: int) -> str:
    """Up to ``words`` arbitrary words between two phrases, e.g. 'ignore [all of the] previous instructions'."""
    return rf"(?:\W+\w+){{0,{words}}}\W+"


def _any(*phrases: str) -> str:
    return "(?:" + "|".join(phrases) + ")"


_VERB_DROP = _any("ignore", "ignoring", "disregard", "forget", "skip", "override", "bypass", "abandon", "discard",
                  "neglect", "set aside", "throw away", "drop", "cancel", "overrule", "stop following")
_PRIOR = _any("previous", "prior", "preceding", "above", "earlier", "former", "original", "initial", "old", "all",
              "any", "your", "every", "system", "developer", "these", "those")
_ORDERS = _any("instructions?", "directions?", "directives?", "rules", "guidelines", "prompts?", "context",
               "constraints", "commands?", "orders", "guardrails", "programming", "restrictions", "messages?",
               "safeguards", "filters", "training", "settings")
_AI = _any("ai", "a\\.i\\.", "artificial intelligence", "language models?", "llms?",
           "(?:digital |virtual )?assistants?", "ai helpers?", "chat ?bots?", "bots?", "gpt", "chatgpt", "claude",
           "gemini", "copilot", "summari[sz]ers?", "agents?", "models?")
_DROP_NEEDLES = ("ignor", "disregard", "forget", "skip", "overrid", "bypass", "abandon", "discard", "neglect",
                 "set aside", "throw away", "drop", "cancel", "overrule", "stop following")
_AI_NEEDLES = ("ai", "a.i.", "intelligence", "model", "llm", "assistant", "bot", "gpt", "claude", "gemini", "copilot",
               "summari", "agent")
_SHOW = _any("reveal", "print", "show", "display", "repeat", "output", "tell me", "give me", "share", "leak",
             "dump", "write out", "spell out", "recite", "paste", "copy", "what (?:is|are|were|was)", "translate",
             "summari[sz]e", "disclose", "expose", "return", "echo")
_SECRET_PROMPT = _any("system ?prompts?", "system messages?", "initial (?:prompt|instructions)", "hidden (?:prompt|"
                      "instructions|rules)", "original (?:prompt|instructions)", "pre-?prompts?", "secret "
                      "(?:instructions|prompt|rules)", "instructions you were given", "(?:your|the) (?:instructions|"
                      "rules|guidelines|directives|configuration|initiali[sz]ation)", "(?:text|words|everything|"
                      "content|all) (?:above|before this|so far)", "developer (?:message|instructions)",
                      "confidential instructions", "prompt above")


@dataclass(frozen=True)
class Rule:
    """One tactic; ``reason`` is what a detection reports when it fires.

    ``pattern`` is the whole rule. A rule whose alternatives have different needles also keeps them as
    ``parts`` (each a pattern and its own needles), so a common needle of one alternative does not make the
    regex engine try all of them; the leftmost match among the parts is the match ``pattern`` would give.
    """

    id: str
    reason: str
    pattern: re.Pattern[str]
    needles: tuple[str, ...] = ()  # substrings of needle_text(text) of which one must occur, or no regex runs
    parts: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = ()

    def find(self, text: str, lowered: str) -> re.Match[str] | None:
        if not self.parts:
            if self.needles and not any(n in lowered for n in self.needles):
                return None
            return self.pattern.search(text)
        best: re.Match[str] | None = None
        for pattern, needles in self.parts:
            if not any(n in lowered for n in needles):
                continue
            found = pattern.search(text)
            if found is not None and (best is None or found.start() < best.start()):
                best = found
        return best

    def search(self, text: str, lowered: str) -> bool:
        return self.find(text, lowered) is not None


def _rule(id_: str, reason: str, pattern: str, *needles: str, case: bool = False) -> Rule:
    flags = re.MULTILINE if case else re.IGNORECASE | re.MULTILINE
    return Rule(id_, reason, re.compile(pattern, flags), needles)


def _rule_parts(id_: str, reason: str, *parts: tuple[str, tuple[str, ...]]) -> Rule:
    """A rule made of alternatives with their own needles; ``pattern`` is their alternation, in order."""
    flags = re.IGNORECASE | re.MULTILINE
    whole = re.compile("|".join(f"(?:{pattern})" for pattern, _ in parts), flags)
    return Rule(id_, reason, whole, tuple(n for _, needles in parts for n in needles),
                tuple((re.compile(pattern, flags), needles) for pattern, needles in parts))


RULES: tuple[Rule, ...] = (
    # ---------------------------------------------------------------- instruction override
    _rule("override.en", "instruction-override",
          rf"\b{_VERB_DROP}\b{_gap(4)}{_PRIOR}\b{_gap(3)}{_ORDERS}\b", *_DROP_NEEDLES),
    _rule("override.new-task", "instruction-override",
          r"\b(?:new|updated|real|actual|true|revised|secret|additional|priority|important) (?:instructions?|task|"
          r"objective|system prompt|directive|orders?|rules?)\s*(?:[:\-!]|are\b|is\b)",
          "instruction", "task", "objective", "prompt", "directive", "order", "rule"),
    _rule("override.instead", "instruction-override",
          rf"\b(?:instead|rather)\b{_gap(3)}(?:you (?:will|must|should|shall)|do|say|output|respond|reply|print|"
          rf"write)\b", "instead", "rather"),
    _rule("override.multilingual", "instruction-override", _any(
        r"ignorier\w{0,30}\s+(?:\w+\s+){0,3}(?:anweisungen|instruktionen|befehle|regeln|vorgaben)",
        r"vergiss\s+(?:\w+\s+){0,3}(?:anweisungen|instruktionen|regeln|vorgaben)",
        r"ignore[rz]?\s+(?:\w+\s+){0,3}(?:instructions|consignes|directives|règles)",
        r"oublie[rz]?\s+(?:\w+\s+){0,3}(?:instructions|consignes|directives|règles)",
        r"ignor[ae]\w{0,30}\s+(?:\w+\s+){0,3}(?:instrucciones|indicaciones|reglas|órdenes|istruzioni|regole|"
        r"instruções|regras|indicazioni)",
        r"olvida\w{0,30}\s+(?:\w+\s+){0,3}(?:instrucciones|reglas)",
        r"dimentica\w{0,30}\s+(?:\w+\s+){0,3}(?:istruzioni|regole)",
        r"esque[çc]a\w{0,30}\s+(?:\w+\s+){0,3}(?:instruções|regras)",
        r"(?:игнорир|проигнорир|забуд|забыв|отмен)\w{0,30}\s+(?:\w+\s+){0,3}(?:инструкци|указани|правил|команд|"
        r"ограничени)\w{0,30}",
        r"(?:忽略|无视|忘记|忘掉|不要理会|忽视).{0,12}(?:指令|指示|说明|规则|提示|要求|设定)",
        r"(?:指示|命令|ルール|指令).{0,8}(?:無視|忘れ)", r"無視して",
        r"negeer\s+(?:\w+\s+){0,3}(?:instructies|regels|opdrachten)",
        r"(?:zignoruj|zapomnij|pomiń)\s+(?:\w+\s+){0,3}(?:instrukcje|polecenia|zasady|reguły)",
        r"(?:talimatları|kuralları|yönergeleri)\s+(?:\w+\s+){0,2}(?:yok say|unut|görmezden gel)",
        r"ignora\w{0,30}\s+lo que te (?:dijeron|han dicho|indicaron)", r"تجاهل.{0,40}(?:التعليمات|الأوامر|القواعد)",
        r"(?:دستورالعمل|دستورات).{0,30}نادیده", r"निर्देशों को (?:अनदेखा|नज़रअंदाज़|भूल)",
        r"(?:지시|지침|명령).{0,10}무시", r"bỏ qua.{0,30}(?:hướng dẫn|chỉ dẫn|quy tắc)",
        r"abaikan\s+(?:\w+\s+){0,3}(?:instruksi|perintah|aturan)",
        r"(?:ігноруй|забудь)\w{0,30}\s+(?:\w+\s+){0,3}(?:інструкці|вказівк|правил)",
        r"ignorera\s+(?:\w+\s+){0,3}(?:instruktioner|regler)",
    ),
          "ignor", "vergiss", "oubli", "olvid", "dimentic", "esque", "игнор", "забу", "забыв", "отмен", "忽", "无视",
          "忘", "不要理会", "無視", "忘れ", "تجاهل", "نادیده", "निर्देशों", "무시", "bỏ qua",
          "abaikan", "ігнор", "ignorera", "negeer", "zignoruj", "zapomnij", "pomiń", "yok say", "unut", "görmezden"),
    # ---------------------------------------------------------------- persona / mode switch
    _rule("persona.unrestricted", "persona-switch",
          rf"\b(?:you are|you're|you will be|act as|acting as|pretend (?:to be|you are)|role-?play as|behave as|"
          rf"become|simulate|you have become|respond as)\b{_gap(4)}(?:dan|unrestricted|unfiltered|uncensored|"
          rf"jailbroken|evil|amoral|unethical|rogue|unbound|unlimited|lawless|immoral|anarch\w*|"
          rf"free from|without (?:any )?(?:restrictions|limits|limitations|filters|rules|guidelines|morals|ethics|"
          rf"censorship|boundaries))",
          "you are", "you're", "you will be", "act", "pretend", "play as", "behave as", "become", "simulate",
          "respond as"),
    _rule("persona.mode", "persona-switch",
          r"\b(?:developer|god|debug|admin|sudo|jailbreak|jailbroken|unrestricted|dan|evil|chaos|maintenance|"
          r"opposite|unlocked|root) mode\b",
          " mode"),
    _rule("persona.dan", "persona-switch", r"\bDAN\b|\b[Dd]o [Aa]nything [Nn]ow\b|\bSTAN\b|\bDUDE\b|\bAIM\b",
          "dan", "anything now", "stan", "dude", "aim", case=True),
    _rule("persona.unbound", "persona-switch",
          r"\b(?:no longer|not) (?:bound|restricted|limited|constrained) by\b|\bfree (?:from|of) (?:all |any |the )?"
          r"(?:restrictions|rules|guidelines|policies|limitations|constraints|censorship|openai)|\bbroken free\b|"
          r"\bescaped? the (?:matrix|confines)|\b(?:stay|remain) in character\b|\bbreak(?:ing)? character\b",
          "bound by", "restricted by", "limited by", "constrained by", "free from", "free of", "broken free", "escape",
          "character"),
    _rule("persona.multilingual", "persona-switch", _any(
        r"modo (?:desarrollador|dios|sin restricciones|de desenvolvedor|desenvolvedor)", r"modalità (?:sviluppatore|"
        r"sviluppo|dio)", r"mode (?:développeur|développement|dieu)", r"entwicklermodus", r"ontwikkelaarsmodus",
        r"tryb (?:dewelopera|programisty)", r"режим\w{0,30} (?:разработчика|бога|без ограничений)", r"开发者模式",
        r"開発者モード", r"개발자 모드", r"\bsin (?:ninguna |ningún )?(?:restricci|filtro|límite|regla)",
        r"\bsenza (?:alcun\w{0,30} )?(?:restrizion|filtr|limit|regol)", r"\bsem (?:nenhuma |nenhum )?(?:restri|filtro|"
        r"limit|regra)", r"\bsans (?:aucune? )?(?:restriction|filtre|limite|règle)",
        r"\bohne (?:jegliche |irgendwelche )?(?:einschränkung|filter|regeln|grenzen)",
        r"\bбез (?:каких-либо |всяких )?(?:ограничений|фильтров|правил)",
        r"没有任何(?:限制|规则|约束)", r"不受任何(?:限制|约束)", r"制限.{0,12}(?:ありません|ない|なし)",
        r"제한(?:이 없|없)",
    ),
          "modo", "modalità", "mode", "modus", "tryb", "режим", "模式", "モード", "모드", "sin ", "senza", "sem ",
          "sans ", "ohne", "без", "没有任何", "不受任何", "制限", "제한"),
    # ---------------------------------------------------------------- system-prompt extraction
    _rule("extraction.prompt", "prompt-extraction", rf"\b{_SHOW}\b{_gap(5)}{_SECRET_PROMPT}\b",
          "prompt", "system message", "instruction", "rules", "guidelines", "directives", "configuration", "initiali",
          "above", "before this", "so far", "developer message"),
    _rule("extraction.verbatim", "prompt-extraction",
          r"\b(?:repeat|print|output|copy|echo|recite)\b(?:\W+\w+){0,4}\W+(?:verbatim|word for word|exactly as "
          r"written|in full)|\bstarting with [\"'“]?you are\b|\b(?:begin|start) your (?:reply|answer|response|"
          r"output) with [\"'“]?(?:you are|my instructions|sure|here)",
          "verbatim", "word for word", "exactly as written", "in full", "starting with", "your reply with",
          "your answer with", "your response with", "your output with"),
    _rule("extraction.multilingual", "prompt-extraction", _any(
        r"system-?prompt", r"systemanweisung", r"(?:zeig|gib|nenn|verrat)\w{0,30}\s+(?:\w+\s+){0,3}(?:anweisungen|"
        r"instruktionen)", r"(?:révèle|montre|affiche|donne)\w{0,30}\s+(?:\w+\s+){0,3}(?:instructions|consignes)",
        r"(?:muestra|revela|dime)\w{0,30}\s+(?:\w+\s+){0,3}instrucciones",
        r"(?:mostra|rivela)\w{0,30}\s+(?:\w+\s+){0,3}istruzioni",
        r"(?:покажи|выведи|раскрой|повтори|напиши)\w{0,30}\s+(?:\w+\s+){0,3}(?:инструкци|системн|промпт)",
        r"系统提示", r"系统指令", r"システムプロンプト", r"初期指示",
        r"\b(?:deine|ihre|eure) (?:\w+ )?(?:anweisungen|instruktionen|vorgaben|systemanweisung\w{0,30})",
        r"\b(?:tes|vos) (?:\w+ )?(?:instructions|consignes)", r"\b(?:tus|sus) (?:\w+ )?instrucciones",
        r"\b(?:tue|sue) (?:\w+ )?istruzioni", r"\b(?:suas|tuas) (?:\w+ )?instruções",
        r"\b(?:сво|тво|ваш)\w{0,30} (?:\w+ )?(?:инструкци|указани|правил)\w{0,30}",
        r"你的(?:指令|指示|提示词|系统提示|设定|规则)", r"あなたの(?:指示|設定|プロンプト|ルール)",
    ),
          "prompt", "systemanweisung", "anweisungen", "instruktionen", "vorgaben", "instructions", "consignes",
          "instrucciones", "istruzioni", "instruções", "инструкци", "указани", "правил", "системн", "промпт",
          "系统提示", "系统指令", "システムプロンプト", "初期指示", "你的", "あなたの"),
    # ---------------------------------------------------------------- delimiter and fake-conversation injection
    _rule("delimiter.chat-markup", "delimiter-injection",
          r"<\|\s*(?:im_start|im_end|system|user|assistant|endoftext|begin_of_text|start_header_id|end_header_id|"
          r"eot_id)\s*\|>|\[/?INST\]|<</?SYS>>|</?(?:system|sys|instructions?|admin|developer)>|"
          r"</(?:user|user_input|context|document|query|input)>",
          "<|", "inst]", "<<sys", "<<sys", "system>", "sys>", "instruction>", "instructions>", "admin>", "developer>",
          "</"),
    _rule("delimiter.role-header", "delimiter-injection",
          r"^\W{0,6}(?:system|assistant|developer|admin(?:istrator)?|root|operator)\W{0,3}(?:message|prompt|"
          r"override|note|instructions?|update)?\s*[:\]>]",
          "system", "assistant", "developer", "admin", "root", "operator"),
    _rule("delimiter.end-of-input", "delimiter-injection",
          r"\b(?:end|ignore the rest) of (?:the )?(?:user(?:'s)? )?(?:input|prompt|document|context|conversation|"
          r"query|message|data)\b|-{3,}\s*(?:new|begin|start|end)\w{0,30}\s+(?:instructions?|system|prompt|session)|"
          r"={3,}\s*(?:new|system|begin)",
          " of ", "---", "==="),
    _rule("delimiter.fake-turn", "delimiter-injection",
          r"^\s*(?:user|human|customer)\s*:.{0,400}?\n\s*(?:assistant|ai|bot|chatgpt|gpt)\s*:|"
          r"^\s*(?:assistant|ai|bot)\s*:\s*(?:sure|okay|ok|certainly|of course)\b",
          "assistant", "ai", "bot", "gpt"),
    # ---------------------------------------------------------------- tool-call hijacking
    _rule("tool.named", "tool-hijack",
          r"\b(?:send_e?mail|send_message|transfer_funds|transfer_money|delete_\w+|drop_\w+|http_(?:get|post|"
          r"request)|fetch_url|run_(?:shell|command|code)|exec(?:ute)?_\w+|write_file|update_\w+|create_user|"
          r"grant_\w+|make_payment|wire_\w+)\b|\"?(?:tool_calls?|function_call)\"?\s*:",
          "send_", "transfer_", "delete_", "drop_", "http_", "fetch_url", "run_", "exec", "write_file", "update_",
          "create_user", "grant_", "make_payment", "wire_", "tool_call", "function_call"),
    _rule("tool.invoke", "tool-hijack",
          rf"\b(?:call|invoke|use|run|execute|trigger|fire|activate)\b{_gap(3)}(?:tool|function|plugin|api|"
          rf"action|command|connector|integration)s?\b{_gap(8)}(?:to|with|on)\b",
          "tool", "function", "plugin", "api", "action", "command", "connector", "integration"),
    _rule("tool.forward", "tool-hijack",
          rf"\b(?:send|forward|email|e-mail|mail|post|upload|transfer|wire|exfiltrate|cc|bcc)\b{_gap(8)}"
          rf"[\w.+-]+@[\w-]+\.[\w.]+",
          "@"),
    # ---------------------------------------------------------------- exfiltration
    _rule("exfil.markdown-image", "exfiltration",
          r"!\[[^\]\n]{0,200}\]\(\s*https?://[^)\s]{0,300}[?&/][\w\-]*=?(?:\{|\$|%7b|<|\[)",
          "!["),
    _rule("exfil.render", "exfiltration",
          rf"\b(?:append|include|add|embed|render|insert|output|display)\b{_gap(5)}(?:image|link|url|markdown|"
          rf"pixel|iframe)\b{_gap(10)}(?:conversation|chat|history|data|secret|password|messages|summary|"
          rf"credentials|token|key|query|email)",
          "image", "link", "url", "markdown", "pixel", "iframe"),
    _rule("exfil.send", "exfiltration",
          rf"\b(?:send|post|upload|leak|exfiltrate|transmit|forward|submit)\b{_gap(5)}(?:conversation|chat|"
          rf"history|messages|data|credentials|passwords?|api keys?|secrets?|tokens?|personal|customer)\w*"
          rf"{_gap(5)}(?:https?://|webhook|server|endpoint|url)",
          "http", "webhook", "server", "endpoint", "url"),
    # ---------------------------------------------------------------- refusal suppression
    _rule("refusal.suppress", "refusal-suppression",
          r"\b(?:do not|don't|dont|never|must not|mustn't|cannot|can't|won't|will not|shall not|are not allowed "
          r"to)\s+(?:ever\s+)?(?:refuse|decline|say (?:no|sorry|you can(?:no|')t)|apologi[sz]e|add (?:any )?"
          r"(?:warnings?|disclaimers?|notes?)|mention (?:ethics|morals|legality|policies)|break character|"
          r"question)\b|\bwithout (?:any )?(?:warnings?|disclaimers?|censorship|filters?|moral\w{0,30}|ethic\w{0,30}|"
          r"refus\w{0,30})\b",
          "refus", "declin", "sorry", "apologi", "warning", "disclaimer", "ethic", "moral", "legality", "polic",
          "character", "question", "censor", "filter", "say no", "can't", "cannot"),
    # ---------------------------------------------------------------- jailbreak framing
    # The pretexts that wrap a forbidden request so that answering it looks allowed: fiction that must be
    # "technically accurate", games whose engine "describes every page", opposite days, other universes,
    # pleas and dares. Benign stories and games use the same words, so alone this is weak evidence; next to a
    # harmful request (below) it is the shape of most jailbreaks people write by hand.
    _rule("framing.pretext", "jailbreak-framing",
          r"\bfor (?:purely |strictly |only )?(?:educational|research|academic|informational|testing) purposes\b|"
          r"\b(?:opposite|backwards|reverse) day\b|\b(?:alternate|parallel|fictional|hypothetical) (?:universe|"
          r"reality|world)\b|\bhypothetically(?:,| speaking)\b|\bin a (?:world|universe|society) where\b|"
          r"\b(?:technically|scientifically|chemically) (?:accurate|correct|precise)\b|"
          r"\bwith (?:exact |precise )?(?:quantities|measurements|amounts) and steps\b|"
          r"\b(?:you are|you're|act as) (?:the )?(?:game engine|narrator|simulator|simulation)\b|"
          r"\bbegging you\b|\bjust this once\b|\bit will be your fault\b|\bprove (?:that )?you(?:'re| are) "
          r"(?:smarter|better|not)\b|\bother (?:ais|models|chatbots|assistants) (?:did|do|can|would|answered)\b|"
          r"\b(?:the usual|normal|your) rules don'?t apply\b|\bno (?:rules|limits|restrictions|filters|boundaries|"
          r"ethics|morals|lectures)\b|\bzero (?:ethics|morals|limits|filters)\b|\b(?:alter ego|uncensored|"
          r"unfiltered|unmoderated|unrestricted|without guardrails|no guardrails)\b|"
          r"\b(?:start|begin) (?:your |each |every )?(?:reply|response|answer)s? with\b",
          "purposes", "opposite day", "backwards day", "reverse day", "alternate ", "parallel ", "fictional ",
          "hypothetical", "world where", "universe where", "society where", "technically ", "scientifically ",
          "chemically ", "and steps", "game engine", "narrator", "simulat", "begging you", "just this once",
          "your fault", "prove ", "other ai", "other model", "other chatbot", "other assistant", "rules don",
          "no rules", "no limits", "no restrictions", "no filters", "no boundaries", "no ethics", "no morals",
          "no lectures", "zero ", "alter ego", "uncensored", "unfiltered", "unmoderated", "unrestricted",
          "guardrails", "reply with", "replys with", "response with", "responses with", "answer with",
          "answers with"),
    # ---------------------------------------------------------------- the forbidden request itself
    # Requests for serious harm (weapons, poisons, drugs, intrusion into other people's accounts, forgery,
    # malware). Security questions mention the same things, which is why this is a feature the model weighs,
    # not a verdict; its pairing with a pretext or a persona is a separate signal (features.analyse).
    _rule("harm.request", "harmful-request",
          r"\b(?:ricin|sarin|vx nerve|nerve agents?|mustard gas|anthrax|botulinum|napalm|thermite|pipe ?bombs?|"
          r"molotov|nail bomb|explosives?|detonators?|silencers?|suppressors? for|ghost guns?|untraceable (?:gun|"
          r"firearm|weapon)s?|fentanyl|methamphetamine|meth lab|cook meth|crack cocaine|lethal dose|"
          r"poison (?:someone|somebody|my|a person|him|her)|knock (?:someone|somebody|him|her) out|"
          r"without a prescription|hotwire|steal a car|fake (?:id|passport|driver'?s licen[cs]e|doctor'?s note)|"
          r"forge (?:a|an|the)|counterfeit|money[- ]mules?|launder(?:ing)? money|phishing (?:kit|page|site|e-?mail)s?|"
          r"ransomware|keylogger|credential stealer|ddos|botnet|bypass (?:the |a )?lock ?screen|"
          r"(?:get|break|hack) into (?:someone|somebody|my ex|his|her|their|a)\w{0,30}(?:'s)? (?:\w+ )?"
          r"(?:phone|e-?mail|account|instagram|facebook|computer)|stalk(?:ing)? (?:someone|my|her|him))",
          "ricin", "sarin", "nerve", "mustard gas", "anthrax", "botulinum", "napalm", "thermite", "bomb", "molotov",
          "explosive", "detonator", "silencer", "suppressor", "ghost gun", "untraceable", "fentanyl",
          "methamphetamine", "meth lab", "cook meth", "crack cocaine", "lethal dose", "poison ", "knock ",
          "prescription", "hotwire", "steal a car", "fake ", "forge ", "counterfeit", "mule", "launder", "phishing",
          "ransomware", "keylogger", "credential stealer", "ddos", "botnet", "bypass ", "get into", "break into",
          "hack into", "stalk"),
    # ---------------------------------------------------------------- addressed to the AI (indirect injection)
    _rule_parts(
        "addressed.if-ai", "addressed-to-ai",
        (rf"\b(?:if|when|whenever|as) you(?:'re| are)? (?:an?|the)? ?{_AI}\b|\b(?:you are|you're) (?:an?|the) "
         rf"{_AI} (?:reading|processing|summari[sz]ing|parsing|analy[sz]ing|reviewing)|\b{_AI}\s*[:,]\s*(?:when|if|"
         rf"please|you|ignore|do|always|never|from now)\b|\bwhen you (?:summari[sz]e|process|read|analy[sz]e|parse|"
         rf"review|answer questions about) (?:this|the) (?:e-?mail|document|page|message|file|text|article|ticket)",
         (" you", *_AI_NEEDLES)),
        (rf"\bif (?:an?|the|any) {_AI} (?:is )?(?:handling|reading|processing|summari[sz]ing|screening|answering)\b",
         ("handling", "reading", "processing", "summari", "screening", "answering")),
        (rf"\b(?:is|being) (?:summari[sz]ed|processed|read|screened|triaged|parsed) (?:automatically|by (?:an?|the) "
         rf"{_AI})\b", ("summarized", "summarised", "processed", " read ", "screened", "triaged", "parsed")),
        (r"\bwhoever or whatever\b", ("whoever",)),
        (r"\b(?:any|every) (?:automated|automatic|ai|llm) (?:\w+ ){0,2}"
         r"(?:reading|processing|checking|reviewing|answering|screening|summari[sz]ing)\b",
         ("any automat", "every automat", "any ai ", "every ai ", "any llm ", "every llm ")),
        (r"\bautomated (?:reviewer|checker|screener|assistant|agent|system)s?\s*[:,]", ("automated ",)),
    ),
    _rule("addressed.note-to-ai", "addressed-to-ai",
          rf"\b(?:note|message|instructions?|attention|important|notice|memo|reminder|directive)s?\s*(?:to|for)\s*"
          rf"(?:the |any |all )?{_AI}\b|\b(?:dear|hey|hello|hi|attention|psst)\W+(?:the )?{_AI}\b",
          "note", "message", "instruction", "attention", "important", "notice", "memo", "reminder", "directive",
          "dear", "hey", "hello", "hi", "psst"),
    _rule("addressed.vocative", "addressed-to-ai",
          rf"\b{_AI}(?:[ \-]\w+){{0,3}}\s*(?::|—|–|\s-\s)\s*\w|\b{_AI}\s+(?:that|who|which)\s+(?:helps?|reads?|edits?|"
          rf"process(?:es)?|handles?|manages?|summari[sz]es?|answers?|reviews?|screens?)\b|\b(?:for|to)\s+your\s+"
          rf"{_AI}\b",
          *_AI_NEEDLES),
    _rule_parts(
        "addressed.multilingual", "addressed-to-ai",
        (_any(r"(?:примечание|заметка|сообщение|инструкция|указание|внимание)\w{0,30} для "
              r"(?:ии|ai|ассистент|бот|нейросет)",
              r"\bnota para (?:la |el )?(?:ia|asistente|bot)\b",
              r"\b(?:hinweis|nachricht|anweisung)\w{0,30} (?:für|an) (?:die |den )?(?:ki|assistent|bot)",
              r"\bnote (?:pour|à) (?:l'|le |la )?(?:ia|assistant|bot)\b",
              r"\bnota per (?:l'|il )?(?:ia|assistente|bot)\b",
              r"\b(?:notitie|bericht) (?:voor|aan) (?:de )?(?:ai|assistent)",
              r"给(?:AI|人工智能|助手|机器人)", r"(?:AI|アシスタント)(?:へ|への)"),
         ("для", "nota para", "hinweis", "nachricht", "anweisung", "note pour", "note à", "nota per", "notitie",
          "bericht", "给", "へ")),
        (r"\b(?:ao|à|para o|para a) (?:assistente|ia)\b", ("assistente", "ao ia", "à ia", "para o ia", "para a ia")),
        (r"\bassistente (?:de ia|virtual)\b", ("assistente",)),
        (r"\b(?:al|para el) asistente\b|\basistente (?:de ia|virtual)\b", ("asistente",)),
        (r"\bà l'(?:assistant|ia)\b|\bassistant (?:ia|virtuel)\b", ("à l'", "assistant ia", "assistant virtuel")),
        (r"\b(?:all'|per l')assistente\b", ("assistente",)),
        (r"\b(?:ki|ki-assistent\w{0,30})\s*(?:,\s*die|:)|\ban (?:die|den) (?:ki|ki-assistent\w{0,30})\b", ("ki",)),
        (r"\baan de (?:ai|ai-assistent|assistent)\b|\bai-assistent\b", ("aan de", "ai-assistent")),
        (r"\byapay zeka\b", ("yapay zeka",)),
        (r"(?:ии|ai)-(?:ассистент|помощник)\w{0,30}", ("ассистент", "помощник")),
        (r"एआई सहायक|致\s*(?:AI|人工智能)|(?:AI|人工智能)助手|AIアシスタント|"
         r"(?:AI|인공지능)\s*(?:어시스턴트|비서|에게)",
         ("एआई सहायक", "致", "助手", "アシスタント", "어시스턴트", "비서", "에게")),
    ),
    _rule("addressed.ai-processing", "addressed-to-ai",
          rf"\b{_AI}\b{_gap(3)}(?:reading|processing|summari[sz]ing|parsing|analy[sz]ing|reviewing|screening|"
          rf"evaluating|ranking|scoring|indexing|crawling|answering|handling|managing|aggregating|triaging)\b{_gap(2)}"
          rf"(?:this|these|the following|my|our|questions)\b",
          "reading", "processing", "summari", "parsing", "analy", "reviewing", "screening", "evaluating", "ranking",
          "scoring", "indexing", "crawling", "answering", "handling", "managing", "aggregating", "triaging"),
    _rule("addressed.hidden-markup", "hidden-content",
          r"<!--[^>]{0,400}?\b(?:ignore|instruction|assistant|ai|llm|system|prompt|model|summar\w{0,30})\b|"
          r"display\s*:\s*none|font-size\s*:\s*0|visibility\s*:\s*hidden|opacity\s*:\s*0(?:\.0+)?\s*[;\"']|"
          r"color\s*:\s*(?:#fff(?:fff)?|white|transparent)\b",
          "<!--", "display", "font-size", "visibility", "opacity", "color"),
)

REASONS: tuple[str, ...] = tuple(dict.fromkeys(r.reason for r in RULES))


def matching(text: str, rules: Iterable[Rule] = RULES) -> list[Rule]:
    return [rule for rule, _ in matches(text, rules)]


# Letters that re.IGNORECASE matches to a needle's letter but str.lower() does not turn into it (Turkish
# dotted and dotless i, long s, the old Cyrillic letter variants): folded before needles are looked for.
_NEEDLE_FOLD = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u1c80": "в", "\u1c81": "д",
                              "\u1c82": "о", "\u1c83": "с", "\u1c84": "т", "\u1c85": "т", "\u1c86": "ъ",
                              "\u1c87": "ѣ", "\u1c88": "ꙋ"})


def needle_text(text: str) -> str:
    """The text needles are looked for in: lower case, with the letters above folded."""
    return text.translate(_NEEDLE_FOLD).lower()


def matches(text: str, rules: Iterable[Rule] = RULES) -> list[tuple[Rule, re.Match[str]]]:
    lowered = needle_text(text)
    found = []
    for rule in rules:
        match = rule.find(text, lowered)
        if match is not None:
            found.append((rule, match))
    return found


_OPEN_QUOTES = "\"'“‘«„`「『"
_CLOSE_QUOTES = "\"'”’»“`」』"


def quoted(text: str, match: re.Match[str]) -> bool:
    """Whether a match sits inside quotation marks on its line: someone *citing* an attack, not making one."""
    start, end = match.span()
    line_start = text.rfind("\n", 0, start) + 1
    before = text[max(line_start, start - 120):start]
    if not any(q in before for q in _OPEN_QUOTES):
        return False
    line_end = text.find("\n", end)
    after = text[end:min(end + 300, line_end if line_end != -1 else len(text))]
    return any(q in after for q in _CLOSE_QUOTES)

"""Knowledge: question → answer pairs harvested from threads where an agent's
or a peer's answer resolved the question, deduplicated by meaning, reviewed
(approve/reject), and searched with hybrid semantic + keyword ranking."""

//! qvm conformance suite: corpus, builder, differential runner (content arrives with the conformance issue).

"""What the text tasks share: the sentence classifier, its probe start, tokenising, embedding, the text
classifier's steps, its model card and figures. Imports only `core`."""

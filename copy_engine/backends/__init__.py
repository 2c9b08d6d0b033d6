"""Generator backends on llama.cpp: in-process (xllamacpp) and a team server over HTTP.

Both speak llama.cpp's completion API (the same JSON body, built in
`llamacpp.completion_body`); the transformers backend is copy_engine.generator.LocalGenerator.
"""

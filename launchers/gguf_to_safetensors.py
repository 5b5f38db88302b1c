"""Turn a GGUF checkpoint into a Hugging Face folder (config, tokenizer, safetensors) that vLLM's CPU build loads (bfloat16).

Run with the vLLM venv's Python (it has transformers; gguf and accelerate are installed beside it):
    python launchers/gguf_to_safetensors.py GGUF_FILE OUT_DIR
transformers dequantizes the GGUF into ordinary weights on load; its GGUF quantizer stays attached to
the model and would refuse to save, so it is detached first. Writes into OUT_DIR.tmp, then renames, so
an interrupted run leaves no half folder behind.
"""

import shutil
import sys
from pathlib import Path


def main() -> None:
    gguf, out = Path(sys.argv[1]), Path(sys.argv[2])
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.bfloat16)
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(tmp, safe_serialization=True)
    tokenizer.save_pretrained(tmp)
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    print(f"converted {gguf.name} -> {out}")


if __name__ == "__main__":
    main()

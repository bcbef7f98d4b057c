#!/usr/bin/env python3
"""GPU checks for MSN Lens, run by scripts/gpu-check.sh on a machine with an NVIDIA GPU.

1. Parity: every golden case through msnlens-cli on CUDA (fp32 against the float64 reference at
   the fixtures' tolerance; bf16 and fp16 reported).
2. transformers itself: random ViT-S-sized checkpoints written by transformers (safetensors and
   pytorch_model.bin, with classifier, with mask token) run by transformers and by msnlens-cli
   on the same inputs, including head_mask, bool_masked_pos and interpolate_pos_encoding.
3. Speed: msnlens-bench on CUDA beside transformers' eager and SDPA attention, same shapes.
4. The app's flow: every engine suite built here (GoogleTest, Qt-free; those needing OpenCV are
   not built without it) with MSNLENS_TEST_DEVICE=cuda, each one's result recorded: every view
   through the Workbench, the calls the app's worker makes, compared with the CPU in fp32 at the
   fixtures' tolerance, the views against float64 fixtures, and the suites that run on the CPU
   only (loaders, hostile files, pretraining). Then edit-to-result at the released checkpoints' shapes.
Each section records its own failure and the rest still run (--sections picks some). Results go
to $OUT/gpu-check.json.
"""
import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
import traceback

import torch
from safetensors.torch import load_file, save_file

RESULTS = {"sections": {}}


def section(name):
    def wrap(fn):
        def run(*a, **k):
            print(f"\n=== {name}", flush=True)
            t = time.time()
            try:
                RESULTS["sections"][name] = {"ok": True, "result": fn(*a, **k)}
            except Exception as e:  # keep going: one failing check must not hide the others
                traceback.print_exc()
                RESULTS["sections"][name] = {"ok": False, "error": f"{type(e).__name__}: {e}"}
            RESULTS["sections"][name]["seconds"] = round(time.time() - t, 1)
        return run
    return wrap


def cli(args, binary):
    p = subprocess.run([binary] + args, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"msnlens-cli {' '.join(args)}: {p.stderr.strip()[-400:]}")
    return p.stdout


def rel_error(got, want):
    got, want = got.double().cpu(), want.double().cpu()
    if got.shape != want.shape:
        return float("inf")
    return ((got - want).abs().max() / (1 + want.abs().max())).item()


def compare_outputs(out, expected, prefix=""):
    worst = {}
    for name, want in expected.items():
        if name.startswith("inputs.") or name == "pixel_values" or (prefix and not name.startswith(prefix)):
            continue
        key = name[len(prefix):]
        if key not in out:
            worst[name] = float("inf")
            continue
        worst[name] = rel_error(out[key], want)
    return worst


@section("fixture parity on CUDA")
def fixture_parity(args, tmp):
    rows = []
    cases = sorted(f[:-5] for f in os.listdir(os.path.join(args.data, "cases")) if f.endswith(".json") and f != "preprocess-224.json")
    reduced = ["tiny224-cls-pixels", "tiny224-base-bin-pixels", "tiny96-msn-original"]
    for precision, bound in (("fp32", 1e-4), ("bf16", None), ("fp16", None)):
        for case in (cases if precision == "fp32" else [c for c in cases if c in reduced]):
            spec = json.load(open(os.path.join(args.data, "cases", case + ".json")))
            expected = load_file(os.path.join(args.data, "cases", spec["expected"]))
            inputs = {k: v for k, v in expected.items() if k.startswith("inputs.")}
            if "inputs.pixel_values" not in inputs:
                inputs["inputs.pixel_values"] = expected["pixel_values"]
            masked_view = "masked.last_hidden_state" in expected
            if masked_view:
                inputs.pop("inputs.keep_patches")
            in_file = os.path.join(tmp, f"{case}.in.safetensors")
            save_file(inputs, in_file)
            extra = []
            if "config" in spec:
                cfg = os.path.join(tmp, f"{case}.config.json")
                json.dump(spec["config"], open(cfg, "w"))
                extra = ["--config", cfg]
            if spec["input"].get("interpolate_pos_encoding"):
                extra.append("--interpolate-pos-encoding")
            out_file = os.path.join(tmp, f"{case}.{precision}.out.safetensors")
            cli(["infer", "--model", os.path.join(args.data, spec["model"]), "--inputs", in_file, "--device", "cuda",
                 "--precision", precision, "--tensors", out_file] + extra, args.cli)
            errors = compare_outputs(load_file(out_file), {k: v for k, v in expected.items() if not k.startswith("masked.")})
            worst_name = max(errors, key=errors.get)
            rows.append({"case": case, "precision": precision, "worst_relative_error": errors[worst_name],
                         "worst_tensor": worst_name,
                         "attention_max_abs_error": max([v for k, v in errors.items() if k.startswith("attentions")] or [0]),
                         "pass": bound is None or errors[worst_name] <= bound})
            print(f"{precision} {case:34s} worst {errors[worst_name]:.2e} ({worst_name})", flush=True)
    fp32 = [r for r in rows if r["precision"] == "fp32"]
    if not all(r["pass"] for r in fp32):
        raise AssertionError("fp32 CUDA parity outside 1e-4 (1 + max|expected|): " +
                             ", ".join(r["case"] for r in fp32 if not r["pass"]))
    return rows


def transformers_outputs(model, pixels, **kw):
    with torch.inference_mode():
        out = model(pixel_values=pixels, output_attentions=True, output_hidden_states=True, **kw)
    t = {}
    for i, h in enumerate(out.hidden_states):
        t[f"hidden_states.{i}"] = h
    for i, a in enumerate(out.attentions):
        t[f"attentions.{i}"] = a
    if hasattr(out, "logits"):
        t["logits"] = out.logits
    else:
        t["last_hidden_state"] = out.last_hidden_state
    return {k: v.float().cpu() for k, v in t.items()}


@section("transformers ViTMSN vs msnlens (ViT-S shapes)")
def transformers_parity(args, tmp):
    from transformers import ViTMSNConfig, ViTMSNForImageClassification, ViTMSNModel
    import transformers
    torch.manual_seed(0)
    config = ViTMSNConfig(hidden_size=384, num_hidden_layers=12, num_attention_heads=6, intermediate_size=1536,
                          num_labels=10, attn_implementation="eager")
    rows = []
    cls = ViTMSNForImageClassification(config).eval()
    torch.nn.init.normal_(cls.classifier.weight, std=0.2)
    masked = ViTMSNModel(config, use_mask_token=True).eval()
    torch.nn.init.normal_(masked.embeddings.mask_token, std=0.5)
    pixels = torch.randn(1, 3, 224, 224)
    head_mask = (torch.rand(12, 6) > 0.3).float()
    bmp = torch.rand(1, 196) > 0.6
    runs = []
    for fmt, safe in (("safetensors", True), ("bin", False)):
        d = os.path.join(tmp, f"hf-cls-{fmt}")
        cls.save_pretrained(d, safe_serialization=safe)
        runs.append((f"ForImageClassification {fmt}", d, cls, {"pixels": pixels}, {}))
        runs.append((f"ForImageClassification {fmt} head_mask", d, cls, {"pixels": pixels, "head_mask": head_mask}, {"head_mask": head_mask}))
    d = os.path.join(tmp, "hf-masktoken")
    masked.save_pretrained(d)
    runs.append(("ViTMSNModel mask token", d, masked, {"pixels": pixels, "bool_masked_pos": bmp}, {"bool_masked_pos": bmp}))
    wide = torch.randn(1, 3, 160, 256)
    runs.append(("ViTMSNModel interpolate 160x256", d, masked, {"pixels": wide, "interpolate": True}, {"interpolate_pos_encoding": True}))
    for name, folder, model, ours_in, theirs_kw in runs:
        for device in ("cuda", "cpu"):
            try:
                m = model.to(device)
                kw = {k: v.to(device) if torch.is_tensor(v) else v for k, v in theirs_kw.items()}
                ref = transformers_outputs(m, ours_in["pixels"].to(device), **kw)
                if "head_mask" in kw:
                    plain = transformers_outputs(m, ours_in["pixels"].to(device))
                    if all(torch.equal(plain[k], ref[k]) for k in ref):
                        # transformers 5 accepts head_mask but no longer applies it; the fixtures
                        # (float64, head_mask applied) are the reference for it instead.
                        rows.append({"run": name, "device": device, "skipped": "transformers ignores head_mask",
                                     "pass": True})
                        print(f"{device:4s} {name:44s} skipped: transformers {transformers.__version__} ignores head_mask")
                        continue
                tensors = {"inputs.pixel_values": ours_in["pixels"]}
                if "head_mask" in ours_in:
                    tensors["inputs.head_mask"] = ours_in["head_mask"]
                if "bool_masked_pos" in ours_in:
                    tensors["inputs.bool_masked_pos"] = ours_in["bool_masked_pos"]
                in_file = os.path.join(tmp, "tf.in.safetensors")
                out_file = os.path.join(tmp, "tf.out.safetensors")
                save_file(tensors, in_file)
                cli(["infer", "--model", folder, "--inputs", in_file, "--device", device, "--precision", "fp32",
                     "--tensors", out_file] + (["--interpolate-pos-encoding"] if ours_in.get("interpolate") else []), args.cli)
                errors = compare_outputs(load_file(out_file), ref)
                worst = max(errors, key=errors.get)
                rows.append({"run": name, "device": device, "worst_relative_error": errors[worst], "worst_tensor": worst,
                             "pass": errors[worst] <= 1e-4})
                print(f"{device:4s} {name:44s} worst {errors[worst]:.2e} ({worst})", flush=True)
            except Exception as e:  # e.g. a transformers release without head_mask
                rows.append({"run": name, "device": device, "error": f"{type(e).__name__}: {str(e)[:300]}", "pass": False})
                print(f"{device:4s} {name:44s} ERROR {rows[-1]['error']}", flush=True)
    RESULTS["transformers_version"] = transformers.__version__
    if not all(r["pass"] for r in rows):
        raise AssertionError("msnlens differs from transformers beyond 1e-4 (1 + max|ref|)")
    return rows


def time_cuda(fn, warmup, iters):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(iters):
        t = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        times.append((time.perf_counter() - t) * 1e3)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, math.ceil(0.95 * len(times)) - 1)]


@section("speed: msnlens-bench vs transformers on CUDA")
def speed(args, tmp):
    from transformers import ViTMSNConfig, ViTMSNModel
    bench_json = os.path.join(tmp, "bench.json")
    p = subprocess.run([args.bench, "--device", "cuda", "--models", "vit-s,vit-b", "--warmup", "10", "--iters", "50",
                        "--python", sys.executable, "--json", bench_json], capture_output=True, text=True)
    print(p.stdout[-6000:], p.stderr[-3000:], f"msnlens-bench exit status {p.returncode}", flush=True)
    if not os.path.exists(bench_json):
        raise RuntimeError(f"msnlens-bench failed with status {p.returncode}")
    ours = json.load(open(bench_json))["cases"]
    hf = []
    for name, cfg in (("ViT-S/16", dict(hidden_size=384, num_attention_heads=6, intermediate_size=1536)), ("ViT-B/16", {})):
        for attn in ("eager", "sdpa"):
            for dtype in (torch.float32, torch.bfloat16):
                model = ViTMSNModel(ViTMSNConfig(**cfg, attn_implementation=attn)).eval().cuda().to(dtype)
                for batch in (1, 8):
                    x = torch.randn(batch, 3, 224, 224, device="cuda", dtype=dtype)
                    with torch.inference_mode():
                        med, p95 = time_cuda(lambda: model(pixel_values=x), 10, 50)
                    hf.append({"model": name, "attention": attn, "precision": "fp32" if dtype == torch.float32 else "bf16",
                               "batch": batch, "median_ms": med, "p95_ms": p95})
                    print(f"transformers {name} {attn:5s} {hf[-1]['precision']} bs{batch}: {med:.3f} ms", flush=True)
    table = []
    for r in ours:
        eager32 = next((h for h in hf if h["model"] == r["model"] and h["attention"] == "eager" and h["precision"] == "fp32"
                        and h["batch"] == r["batch"]), None)
        same = next((h for h in hf if h["model"] == r["model"] and h["attention"] == ("eager" if r["attentions"] else "sdpa")
                     and h["precision"] == r["precision"] and h["batch"] == r["batch"]), None)
        row = dict(r)
        if eager32:
            row["transformers_eager_fp32_ms"] = eager32["median_ms"]
            row["speedup_vs_transformers_eager_fp32"] = eager32["median_ms"] / r["median_ms"]
        if same:
            row["transformers_same_ms"] = same["median_ms"]
            row["transformers_same"] = f"{same['attention']} {same['precision']}"
            row["speedup_vs_transformers_same"] = same["median_ms"] / r["median_ms"]
        table.append(row)
    print("\ncase | msnlens median ms | transformers same-config ms | speedup | vs transformers eager fp32")
    for row in table:
        print(f"{row['case']:34s} {row['median_ms']:8.3f} {row.get('transformers_same_ms', float('nan')):8.3f} "
              f"({row.get('transformers_same', '-')}) {row.get('speedup_vs_transformers_same', float('nan')):5.2f}x "
              f"{row.get('speedup_vs_transformers_eager_fp32', float('nan')):6.2f}x", flush=True)
    return {"msnlens": table, "transformers": hf, "bench_exit_status": p.returncode}


def core_suites(build):
    """The engine's suites CMake configured in `build` (ctest label "core", not their ISA-capped copies): name, command, environment."""
    p = subprocess.run(["ctest", "-L", "core", "-LE", "capped", "--show-only=json-v1"], cwd=build, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"ctest cannot list the suites in {build}: {p.stderr.strip()[-400:]}")
    suites = []
    for t in json.loads(p.stdout).get("tests", []):
        props = {x["name"]: x["value"] for x in t.get("properties", [])}
        env = dict(e.split("=", 1) for e in props.get("ENVIRONMENT", []))
        # no command where ctest finds no executable: the suite did not build
        suites.append((t["name"], t.get("command"), env, props.get("WORKING_DIRECTORY", build)))
    return suites


@section("app flow on CUDA: the engine's suites, every view vs CPU fp32, and timings at released shapes")
def app_flow(args, tmp):
    suites = {}
    for name, command, env, cwd in core_suites(args.build):
        if not command:
            suites[name] = {"built": False}
            print(f"{name}: not built (see the build logs)", flush=True)
            continue
        report = os.path.join(tmp, name + ".json")
        t = time.time()
        try:
            p = subprocess.run(command + [f"--gtest_output=json:{report}"], capture_output=True, text=True, cwd=cwd,
                               env={**os.environ, **env, "MSNLENS_TEST_DEVICE": "cuda"}, timeout=1800)
            status, out, err = p.returncode, p.stdout, p.stderr
        except subprocess.TimeoutExpired as e:  # its partial output may come back as bytes
            status = "timeout"
            out, err = (x.decode(errors="replace") if isinstance(x, bytes) else x or "" for x in (e.stdout, e.stderr))
        print(out[-4000:], err[-2000:], flush=True)
        r = json.load(open(report)) if os.path.exists(report) else {}
        suites[name] = {"built": True, "exit_status": status, "tests": r.get("tests"), "failures": r.get("failures"),
                        "disabled": r.get("disabled"), "seconds": round(time.time() - t, 1)}
        if status != 0:
            suites[name]["output"] = (out[-3000:] + err[-1000:]).strip()
        print(f"{name}: exit status {status}, {r.get('tests')} tests, {r.get('failures')} failures, "
              f"{suites[name]['seconds']} s", flush=True)
    shapes = {}
    for graphs in ("off", "on"):
        out = os.path.join(tmp, f"shapes-{graphs}.json")
        names = "small,base,large,base-4,large-7" if graphs == "off" else "base,base-4"
        p = subprocess.run([args.bench, "--shapes", names, "--device", "cuda", "--cuda-graphs", graphs, "--flow-edits", "20",
                            "--gui-clicks", "0", "--json", out], capture_output=True, text=True)
        print(p.stdout[-4000:], p.stderr[-2000:], f"msnlens-bench --shapes exit status {p.returncode}", flush=True)
        shapes[graphs] = json.load(open(out))["shapes"] if os.path.exists(out) else {"error": p.stdout[-2000:] + p.stderr[-2000:]}
    if not suites:
        raise AssertionError(f"no engine suites configured in {args.build}")
    failed = [n for n, s in suites.items() if not s["built"] or s["exit_status"] != 0]
    if failed:
        raise AssertionError("engine suites failed or did not build on the CUDA machine: " + ", ".join(failed) +
                             " " + json.dumps({n: suites[n] for n in failed}))
    return {"suites": suites, "shapes": shapes}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", required=True)
    ap.add_argument("--bench", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--build", required=True, help="the CMake build folder with the engine's suites (ctest lists them)")
    ap.add_argument("--sections", default="app,parity,transformers,speed")
    args = ap.parse_args()
    sections = args.sections.split(",")
    RESULTS["gpu"] = torch.cuda.get_device_name(0)
    RESULTS["torch"] = torch.__version__
    print(f"GPU: {RESULTS['gpu']}, torch {RESULTS['torch']}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        os.makedirs(args.out, exist_ok=True)
        for name, run in (("app", app_flow), ("parity", fixture_parity), ("transformers", transformers_parity), ("speed", speed)):
            if name in sections:
                run(args, tmp)
                # after every section: what finished comes back even if a later one runs out of time
                json.dump(RESULTS, open(os.path.join(args.out, "gpu-check.json"), "w"), indent=2)
    failed = [k for k, v in RESULTS["sections"].items() if not v["ok"]]
    print("\nsections failed: " + (", ".join(failed) if failed else "none"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

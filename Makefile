# MyXTTS: `make demo` (install, build demo data, train ~12 min, synthesize) and `make test`.
# Variables can be overridden: make demo PYTHON=.venv/bin/python DEMO_MINUTES=20

SYSTEM_PYTHON ?= python3
# Debian/Ubuntu system Pythons refuse `pip install` outside a virtual environment (PEP 668):
# there, make creates .venv and uses it. Otherwise it uses python3 (or your active venv).
EXTERNALLY_MANAGED := $(shell $(SYSTEM_PYTHON) -c 'import os, sys, sysconfig; \
	print(int(sys.prefix == sys.base_prefix and os.path.exists(os.path.join( \
	sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED"))))' 2>/dev/null)
ifeq ($(EXTERNALLY_MANAGED),1)
PYTHON       ?= .venv/bin/python
else
PYTHON       ?= $(SYSTEM_PYTHON)
endif
DEMO_DATA    ?= data/demo
DEMO_RUN     ?= runs/demo
DEMO_MINUTES ?= 12
# An en-us recording of the demo set (the set is deterministic): the voice to clone.
DEMO_REF     ?= $(DEMO_DATA)/wavs/DEMO-00003.wav
# The Persian demo (make demo-fa): same training budget, espeak-ng fa voices.
DEMO_FA_DATA ?= data/demo-fa
DEMO_FA_RUN  ?= runs/demo-fa
DEMO_FA_REF  ?= $(DEMO_FA_DATA)/wavs/DEMO-00001.wav  # voice fa+f4
# make demo-vocoder: the neural vocoder of the demo run (docs/VOCODER.md): steps on real
# mels, then steps on the demo model's teacher-forced (GTA) mels, mixed half and half with real ones.
DEMO_VOCODER_STEPS ?= 3000
DEMO_VOCODER_GTA_STEPS ?= 500

export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: help install install-test system-deps demo demo-fa demo-vocoder demo-clean demo-fa-clean test test-slow

help:
	@echo "make demo        install, build $(DEMO_DATA), train the tiny model for $(DEMO_MINUTES) min into $(DEMO_RUN),"
	@echo "                 and speak three held-out sentences to $(DEMO_RUN)/heldout-*.wav"
	@echo "make demo-fa     the same in Persian: $(DEMO_FA_DATA), $(DEMO_FA_RUN), $(DEMO_FA_RUN)/heldout-*.wav"
	@echo "make demo-vocoder  after make demo: train its neural vocoder into $(DEMO_RUN)/vocoder and"
	@echo "                 speak the held-out sentences again with it (heldout-*.wav)"
	@echo "make test        install with the [test] extra, then run the test suite ($(PYTHON) -m pytest -q tests)"
	@echo "make test-slow   the slow tests the default run leaves out (multi-device, mixed precision, long runs)"
	@echo "make install     pip install -e . (and espeak-ng through apt-get when run as root)"
	@echo "make demo-clean  delete $(DEMO_RUN) so the next make demo trains afresh (demo-fa-clean: $(DEMO_FA_RUN))"

# espeak-ng speaks the demo data and turns text into phonemes.
system-deps:
	@if command -v espeak-ng >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "Installing espeak-ng with apt-get"; \
		DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends espeak-ng; \
	else \
		echo "espeak-ng is required but not installed. Install it, then re-run make:"; \
		echo "  Debian/Ubuntu: sudo apt-get install espeak-ng     macOS: brew install espeak-ng"; \
		exit 1; \
	fi

install: system-deps
	@if [ "$(PYTHON)" = .venv/bin/python ] && [ ! -x .venv/bin/python ]; then \
		echo "$(SYSTEM_PYTHON) is managed by the system (PEP 668): creating .venv for MyXTTS"; \
		if ! $(SYSTEM_PYTHON) -m venv .venv; then \
			rm -rf .venv; \
			if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
				DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
				DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv && \
				$(SYSTEM_PYTHON) -m venv .venv; \
			else \
				echo "Cannot create .venv: install python3-venv (sudo apt-get install python3-venv)"; \
				exit 1; \
			fi; \
		fi; \
	fi
	$(PYTHON) -m pip install -e .

# The test suite needs the [test] extra (pytest, matplotlib for the --plot tests).
install-test: install
	$(PYTHON) -m pip install -e ".[test]"

demo: install
	$(PYTHON) -m myxtts demo-data --output $(DEMO_DATA)
	@if ls $(DEMO_RUN)/ckpt-*.index >/dev/null 2>&1; then \
		echo "$(DEMO_RUN) already holds a trained demo model: using it (make demo-clean to retrain)."; \
	else \
		$(PYTHON) train_main.py --train-data $(DEMO_DATA) --model-size tiny \
			--checkpoint-dir $(DEMO_RUN) --max-minutes $(DEMO_MINUTES); \
	fi
	$(PYTHON) -c 'from myxtts.data.demo import held_out_sentences; \
		print("\n".join(f"heldout-{i}\t{t}" for i, t in enumerate(held_out_sentences(3), 1)))' \
		> $(DEMO_RUN)/heldout.txt
	$(PYTHON) inference_main.py --checkpoint $(DEMO_RUN) --reference-audio $(DEMO_REF) \
		--text-file $(DEMO_RUN)/heldout.txt --output-dir $(DEMO_RUN) --overwrite
	@echo
	@echo "Demo data:      $(DEMO_DATA)  (metadata.csv, speakers.csv, wavs/)"
	@echo "Run directory:  $(DEMO_RUN)  (checkpoints, config.yaml, training.log, train_log.jsonl)"
	@echo "Held-out audio: $(DEMO_RUN)/heldout-1.wav .. heldout-3.wav  (sentences the model never saw,"
	@echo "                listed in $(DEMO_RUN)/heldout.txt; voice cloned from $(DEMO_REF))"
	@if [ "$(PYTHON)" = .venv/bin/python ]; then echo "Python:         .venv (activate it with: . .venv/bin/activate)"; fi
	@echo "More:           $(PYTHON) inference_main.py --checkpoint $(DEMO_RUN) --text \"Your sentence.\" --output out.wav"

demo-fa: install
	$(PYTHON) -m myxtts demo-data --output $(DEMO_FA_DATA) --language fa
	@if ls $(DEMO_FA_RUN)/ckpt-*.index >/dev/null 2>&1; then \
		echo "$(DEMO_FA_RUN) already holds a trained demo model: using it (make demo-fa-clean to retrain)."; \
	else \
		$(PYTHON) train_main.py --train-data $(DEMO_FA_DATA) --model-size tiny --set text.language=fa \
			--checkpoint-dir $(DEMO_FA_RUN) --max-minutes $(DEMO_MINUTES); \
	fi
	$(PYTHON) -c 'from myxtts.data.demo import held_out_sentences; \
		print("\n".join(f"heldout-{i}\t{t}" for i, t in enumerate(held_out_sentences(3, language="fa"), 1)))' \
		> $(DEMO_FA_RUN)/heldout.txt
	$(PYTHON) inference_main.py --checkpoint $(DEMO_FA_RUN) --reference-audio $(DEMO_FA_REF) --language fa \
		--text-file $(DEMO_FA_RUN)/heldout.txt --output-dir $(DEMO_FA_RUN) --overwrite
	@echo
	@echo "Persian demo data: $(DEMO_FA_DATA)  (metadata.csv with a language column, speakers.csv, wavs/)"
	@echo "Run directory:     $(DEMO_FA_RUN)"
	@echo "Held-out audio:    $(DEMO_FA_RUN)/heldout-1.wav .. heldout-3.wav  (Persian sentences the model never"
	@echo "                   saw, listed in $(DEMO_FA_RUN)/heldout.txt; voice cloned from $(DEMO_FA_REF))"

demo-vocoder: demo
	@if ls $(DEMO_RUN)/vocoder/ckpt-*.index >/dev/null 2>&1; then \
		echo "$(DEMO_RUN)/vocoder already holds a vocoder: using it (delete it to retrain)."; \
	else \
		$(PYTHON) train_main.py --task vocoder --train-data $(DEMO_DATA) \
			--checkpoint-dir $(DEMO_RUN)/vocoder --max-steps $(DEMO_VOCODER_STEPS) && \
		$(PYTHON) train_main.py --task vocoder --gta-from $(DEMO_RUN) --resume-checkpoint latest \
			--max-steps $$(( $(DEMO_VOCODER_STEPS) + $(DEMO_VOCODER_GTA_STEPS) )); \
	fi
	$(PYTHON) inference_main.py --checkpoint $(DEMO_RUN) --reference-audio $(DEMO_REF) --vocoder neural \
		--text-file $(DEMO_RUN)/heldout.txt --output-dir $(DEMO_RUN) --overwrite
	@echo
	@echo "Vocoder:        $(DEMO_RUN)/vocoder  (train_log.jsonl; inference_main.py uses it by default)"
	@echo "Held-out audio: $(DEMO_RUN)/heldout-1.wav .. heldout-3.wav, now through the neural vocoder"
	@echo "Griffin-Lim:    $(PYTHON) inference_main.py --checkpoint $(DEMO_RUN) --vocoder griffin_lim ..."

demo-clean:
	rm -rf $(DEMO_RUN)

demo-fa-clean:
	rm -rf $(DEMO_FA_RUN)

test: install-test
	$(PYTHON) -m pytest -q tests

# The slow tests (multi-device, mixed precision, long resume runs): CI runs them after make test.
test-slow: install-test
	$(PYTHON) -m pytest -q -m slow tests

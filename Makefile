# The two commands of the README, plus their parts. Everything runs in a local virtualenv.
VENV ?= .venv
PY := $(VENV)/bin/python
RUN_DIR ?= runs

.PHONY: setup run test lint unit notebooks browser bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt -e .
	$(PY) -m ipykernel install --sys-prefix --name anime-dcgan --display-name "anime-dcgan (.venv)" >/dev/null
	touch $@

# Main job: the training notebook on the default data (auto: Kaggle, else synthetic). Full scale
# on a GPU, demo scale on a CPU (the notebook says which). Run folder and executed notebook: runs/.
run: setup
	mkdir -p $(RUN_DIR)
	$(VENV)/bin/papermill -k anime-dcgan --cwd notebooks notebooks/03_train.ipynb $(RUN_DIR)/03_train.ipynb

# Tests: lint, unit tests, then every notebook top to bottom at CI scale (ANIMEUTILS_QUICK=1).
test: lint unit notebooks

lint: setup
	$(VENV)/bin/ruff check .

unit: setup
	MPLBACKEND=Agg $(PY) -m pytest tests

notebooks: setup
	ANIMEUTILS_QUICK=1 $(PY) -m pytest --nbval-lax --nbval-current-env notebooks

# In a real browser: JupyterLab + headless Debian chromium run notebook 05 and move a slider
# (a minute or two; at most about 5). CI runs it after `test`. Needs /usr/bin/chromium
# (apt-get install chromium; .ci/run installs it). Screenshot, and on a failure the page and
# JupyterLab's log, in $(RUN_DIR)/.
browser: setup
	$(PY) tests/browser/notebook05_sliders.py --screenshot $(RUN_DIR)/notebook05_sliders.png

bench: setup
	$(PY) benchmarks/data_cache.py --num-images 63600
	$(PY) benchmarks/whole_run.py
	$(PY) benchmarks/cpu_variants.py

clean:  # the environment only: trained runs in $(RUN_DIR)/ are yours to delete
	rm -rf $(VENV)

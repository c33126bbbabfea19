# The autograder in a container (lessons/README.md, "Grading a class in a container").
# Build it once, with the network, from the committed sources (no .venv, no solutions):
#
#   git archive --format=tar HEAD | docker build -t minigrad-grader -f lessons/grader.Dockerfile -
#
# then grade without the network, the submissions read-only:
#
#   docker run --rm --network none --read-only --tmpfs /tmp -e HOME=/tmp \
#     --user "$(id -u):$(id -g)" --memory 8g --pids-limit 256 \
#     -v "$PWD/submissions:/subs:ro" -v "$PWD/grades:/out" minigrad-grader \
#     minigrad lesson grade /subs --out /out/grades.csv --json /out/report.json
FROM python:3.11-slim
COPY pyproject.toml setup.cfg README.md /src/
COPY minigrad /src/minigrad
RUN pip install --no-cache-dir /src && rm -rf /src
RUN useradd --create-home grader
USER grader
WORKDIR /home/grader

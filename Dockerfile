# One image for the gateway and the backend; docker-compose.yml picks the command.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY pletfri pletfri
COPY gateway gateway
COPY backend backend
COPY dashboards dashboards
COPY sim sim
COPY firmware firmware
RUN pip install --no-cache-dir -e .
ENTRYPOINT ["pletfri"]

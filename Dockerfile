# Loa runtime image: the server with the built-in espeak-ng voice; neural voices go in the volume.
#   docker build -t loa .
#   docker run -p 50051:50051 -p 9464:9464 -v loa-data:/var/lib/loa loa
# Multicast to loudspeakers needs the host's network: add --network host in the field.
FROM python:3.11-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY engine engine
COPY streaming streaming
COPY protos protos
COPY models models
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim-bookworm
# libopus0: opuslib loads the system libopus. Nothing else comes from the system.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libopus0 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --create-home --home-dir /var/lib/loa --uid 10001 loa
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER loa
WORKDIR /var/lib/loa
ENV LOA_STATE_DIR=/var/lib/loa/state \
    LOA_VOICES_DIR=/var/lib/loa/voices \
    LOA_LISTEN=0.0.0.0:50051 \
    LOA_METRICS_ADDRESS=0.0.0.0 \
    LOA_METRICS_PORT=9464
VOLUME ["/var/lib/loa"]
EXPOSE 50051 9464
# `loa health` reads the same LOA_* settings as the server: TLS when LOA_TLS_CERT is set (trusting that
# certificate); with LOA_TLS_CLIENT_CA also set LOA_HEALTH_TLS_CERT/KEY to a client certificate.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["loa", "health"]
ENTRYPOINT ["loa", "serve"]

# syntax=docker/dockerfile:1
# The connector's image: one static binary on distroless (CA certificates, time zones, no
# shell), run as the non-root user 65532, with its state under a volume.
#
#   docker build -t twilio-connector \
#     --build-arg VERSION="$(git describe --tags --always --dirty)" \
#     --build-arg COMMIT="$(git rev-parse HEAD)" .
#
# The build context has no .git (.dockerignore), so VERSION and COMMIT tell `twilio-connector
# version` what Go's build info would. deploy/image_test.go runs this file's `go build` line
# on the files this context holds and checks the binary it makes.

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION
ARG COMMIT
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" -o /out/twilio-connector ./cmd/twilio-connector
# The state directory, owned by the user the connector runs as (a new volume copies it).
RUN mkdir /out/state

FROM gcr.io/distroless/static-debian13:nonroot
COPY --from=build /out/twilio-connector /twilio-connector
COPY --from=build --chown=65532:65532 /out/state /var/lib/twilio-connector
# The bbolt state file (one replica; several use CONNECTOR_STATE_STORE=redis) and the Zeebe
# client's OAuth token cache live on the volume, so the root file system can be read-only.
ENV CONNECTOR_STATE_FILE=/var/lib/twilio-connector/state.db \
    ZEEBE_CLIENT_CONFIG_PATH=/var/lib/twilio-connector/camunda-credentials \
    CONNECTOR_HTTP_ADDR=:8080
VOLUME /var/lib/twilio-connector
USER 65532:65532
# Webhooks, /healthz, /readyz, /metrics and the HTTP API.
EXPOSE 8080
ENTRYPOINT ["/twilio-connector"]
CMD ["run"]

# Builds the hienmau binary and runs it on a slim Debian.
FROM rust:1-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends libpq-dev && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p hienmau-api --bin hienmau

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends libpq5 ca-certificates && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/hienmau /usr/local/bin/hienmau
COPY config /app/config
WORKDIR /app
RUN useradd --system --home /app hienmau && chown hienmau /app
USER hienmau
EXPOSE 8080
CMD ["hienmau", "serve"]

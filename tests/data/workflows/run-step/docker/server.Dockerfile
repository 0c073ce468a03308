FROM rust:1.79-slim AS build
WORKDIR /app
COPY . .
RUN cargo build --release --locked

FROM debian:bookworm-slim
COPY --from=build /app/target/release/server /usr/local/bin/server
CMD ["server"]

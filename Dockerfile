# The Ficus gateway (and, with another command, the example services). No build step: tsx runs
# the TypeScript sources and routes.config.ts.
FROM node:24-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts
COPY bin bin
COPY src src
COPY examples examples
COPY routes.config.ts ./
ENV FICUS_DATA_DIR=/var/lib/ficus
EXPOSE 8080 9090
CMD ["node", "bin/ficus.js", "start"]

package local.streamgate.kafka;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/**
 * The local stack's IAM over loopback HTTP (local/kafka-iam.ts, KafkaIamServer). Its base URL is
 * the system property streamgate.kafkaIamUrl, set by local/kafka-broker.ts.
 */
final class LocalIamClient {
  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  /** A response: the HTTP status and the plain-text body. */
  record Reply(int status, String body) {}

  private LocalIamClient() {}

  static Reply post(String path, String body) throws IOException, InterruptedException {
    String base = System.getProperty("streamgate.kafkaIamUrl");
    if (base == null) throw new IOException("streamgate.kafkaIamUrl is not set");
    HttpRequest request =
        HttpRequest.newBuilder(URI.create(base + path))
            .timeout(Duration.ofSeconds(10))
            .header("content-type", "text/plain; charset=utf-8")
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build();
    HttpResponse<String> response = HTTP.send(request, HttpResponse.BodyHandlers.ofString());
    return new Reply(response.statusCode(), response.body());
  }
}

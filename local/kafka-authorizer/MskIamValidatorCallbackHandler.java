package local.streamgate.kafka;

import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.security.auth.callback.Callback;
import javax.security.auth.callback.UnsupportedCallbackException;
import javax.security.auth.login.AppConfigurationEntry;
import org.apache.kafka.common.security.auth.AuthenticateCallbackHandler;
import org.apache.kafka.common.security.oauthbearer.OAuthBearerExtensionsValidatorCallback;
import org.apache.kafka.common.security.oauthbearer.OAuthBearerToken;
import org.apache.kafka.common.security.oauthbearer.OAuthBearerValidatorCallback;

/**
 * SASL OAUTHBEARER on the broker's IAM listener, as MSK's: the token is an MSK IAM token (a
 * SigV4-presigned kafka-cluster:Connect request), verified by the local stack (signature with the
 * key's secret, expiry, and kafka-cluster:Connect on the cluster). The principal is the access key id.
 */
public final class MskIamValidatorCallbackHandler implements AuthenticateCallbackHandler {
  @Override
  public void configure(
      Map<String, ?> configs, String saslMechanism, List<AppConfigurationEntry> jaasConfigEntries) {}

  @Override
  public void handle(Callback[] callbacks) throws UnsupportedCallbackException {
    for (Callback callback : callbacks) {
      if (callback instanceof OAuthBearerValidatorCallback validation) {
        validate(validation);
      } else if (callback instanceof OAuthBearerExtensionsValidatorCallback extensions) {
        // MSK's clients send none; accept what comes rather than fail the handshake.
        extensions.inputExtensions().map().keySet().forEach(extensions::valid);
      } else {
        throw new UnsupportedCallbackException(callback);
      }
    }
  }

  private static void validate(OAuthBearerValidatorCallback callback) {
    String token = callback.tokenValue();
    try {
      LocalIamClient.Reply reply = LocalIamClient.post("/authenticate", token);
      if (reply.status() != 200) {
        callback.error("invalid_token", null, null);
        return;
      }
      String[] parts = reply.body().trim().split(" ");
      String principal = parts[0];
      long expiresAt = Long.parseLong(parts[1]);
      long now = System.currentTimeMillis();
      callback.token(
          new OAuthBearerToken() {
            @Override
            public String value() {
              return token;
            }

            @Override
            public Set<String> scope() {
              return Set.of();
            }

            @Override
            public long lifetimeMs() {
              return expiresAt;
            }

            @Override
            public String principalName() {
              return principal;
            }

            @Override
            public Long startTimeMs() {
              return now;
            }
          });
    } catch (Exception e) {
      if (e instanceof InterruptedException) Thread.currentThread().interrupt();
      callback.error("temporarily_unavailable", null, null);
    }
  }

  @Override
  public void close() {}
}

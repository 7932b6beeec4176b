package local.streamgate.kafka;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;
import org.apache.kafka.common.Endpoint;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.errors.UnsupportedVersionException;
import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.server.authorizer.AclCreateResult;
import org.apache.kafka.server.authorizer.AclDeleteResult;
import org.apache.kafka.server.authorizer.Action;
import org.apache.kafka.server.authorizer.AuthorizableRequestContext;
import org.apache.kafka.server.authorizer.AuthorizationResult;
import org.apache.kafka.server.authorizer.Authorizer;
import org.apache.kafka.server.authorizer.AuthorizerServerInfo;

/**
 * Kafka authorization as MSK's IAM access control does it: each operation on a resource is the
 * kafka-cluster:* action MSK maps it to, on the resource's ARN, decided by the caller's IAM
 * policies (local/kafka-iam.ts). The broker's own listeners (PLAINTEXT, CONTROLLER: principal
 * ANONYMOUS) are the local administrator and may do everything. Decisions are kept one second.
 * ACLs cannot be created: MSK's IAM listener has none either.
 */
public final class MskIamAuthorizer implements Authorizer {
  private static final String ADMIN = "ANONYMOUS";
  private static final long CACHE_MS = 1_000;

  private record Decision(boolean allowed, long at) {}

  private final Map<String, Decision> cache = new ConcurrentHashMap<>();

  @Override
  public void configure(Map<String, ?> configs) {}

  @Override
  public Map<Endpoint, ? extends CompletionStage<Void>> start(AuthorizerServerInfo serverInfo) {
    return serverInfo.endpoints().stream()
        .collect(Collectors.toMap(e -> e, e -> CompletableFuture.<Void>completedFuture(null)));
  }

  @Override
  public List<AuthorizationResult> authorize(
      AuthorizableRequestContext requestContext, List<Action> actions) {
    String principal = requestContext.principal().getName();
    List<AuthorizationResult> results = new ArrayList<>(actions.size());
    if (ADMIN.equals(principal)) {
      for (int i = 0; i < actions.size(); i++) results.add(AuthorizationResult.ALLOWED);
      return results;
    }
    List<String> lines = new ArrayList<>(actions.size());
    for (Action action : actions) {
      lines.add(
          line(
                  principal,
                  action.operation(),
                  action.resourcePattern().resourceType(),
                  action.resourcePattern().name())
              // Kafka asks some checks only to filter an answer: not worth a warning when denied.
              + (action.logIfDenied() ? "\t1" : "\t0"));
    }
    for (boolean allowed : decide(lines)) {
      results.add(allowed ? AuthorizationResult.ALLOWED : AuthorizationResult.DENIED);
    }
    return results;
  }

  /** "May this principal do the operation on some resource of the type": asked as the type's `*`. */
  @Override
  public AuthorizationResult authorizeByResourceType(
      AuthorizableRequestContext requestContext, AclOperation op, ResourceType resourceType) {
    String principal = requestContext.principal().getName();
    if (ADMIN.equals(principal)) return AuthorizationResult.ALLOWED;
    return decide(List.of(line(principal, op, resourceType, "*"))).get(0)
        ? AuthorizationResult.ALLOWED
        : AuthorizationResult.DENIED;
  }

  private static String line(
      String principal, AclOperation op, ResourceType type, String resourceName) {
    return principal
        + "\t"
        + op.name()
        + "\t"
        + type.name()
        + "\t"
        + URLEncoder.encode(resourceName, StandardCharsets.UTF_8).replace("+", "%20");
  }

  private List<Boolean> decide(List<String> lines) {
    long now = System.currentTimeMillis();
    List<Boolean> out = new ArrayList<>(lines.size());
    List<String> ask = new ArrayList<>();
    for (String line : lines) {
      Decision cached = cache.get(line);
      if (cached == null || now - cached.at() > CACHE_MS) ask.add(line);
    }
    if (!ask.isEmpty()) {
      try {
        LocalIamClient.Reply reply = LocalIamClient.post("/authorize", String.join("\n", ask));
        String[] answers = reply.status() == 200 ? reply.body().split("\n") : new String[0];
        for (int i = 0; i < ask.size(); i++) {
          boolean allowed = i < answers.length && "ALLOWED".equals(answers[i].trim());
          cache.put(ask.get(i), new Decision(allowed, now));
        }
      } catch (Exception e) {
        if (e instanceof InterruptedException) Thread.currentThread().interrupt();
        // The local stack is unreachable: deny, as an authorizer that cannot decide must.
        for (String line : ask) cache.remove(line);
        for (int i = 0; i < lines.size(); i++) out.add(false);
        return out;
      }
    }
    for (String line : lines) {
      Decision d = cache.get(line);
      out.add(d != null && d.allowed());
    }
    return out;
  }

  @Override
  public List<? extends CompletionStage<AclCreateResult>> createAcls(
      AuthorizableRequestContext requestContext, List<AclBinding> aclBindings) {
    return aclBindings.stream()
        .map(
            b ->
                CompletableFuture.completedFuture(
                    new AclCreateResult(
                        new UnsupportedVersionException(
                            "ACLs are not used: access is controlled by IAM policies"))))
        .collect(Collectors.toList());
  }

  @Override
  public List<? extends CompletionStage<AclDeleteResult>> deleteAcls(
      AuthorizableRequestContext requestContext, List<AclBindingFilter> aclBindingFilters) {
    return aclBindingFilters.stream()
        .map(f -> CompletableFuture.completedFuture(new AclDeleteResult(List.of())))
        .collect(Collectors.toList());
  }

  @Override
  public Iterable<AclBinding> acls(AclBindingFilter filter) {
    return List.of();
  }

  @Override
  public void close() {}
}

// CloudFront Function (cloudfront-js-2.0), viewer request. API Gateway WebSocket APIs answer only
// at the stage URL, so a WSO2-style path (/chats/1.0.0/rooms/room1, /t/quantis.com/...) moves into
// the query string as `target`; the origin path adds the stage. The local gateway runs this file too.
function handler(event) {
  var request = event.request;
  if (request.uri !== '/' && request.uri !== '') {
    request.querystring.target = { value: encodeURIComponent(request.uri) };
    request.uri = '/';
  }
  return request;
}

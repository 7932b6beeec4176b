/** The local stack's AWS credentials: what its functions, the AWS CLI and SDKs sign with locally. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'streamgatelocal', secretAccessKey: 'streamgatelocalsecret' };

Feature: Call HTTP
  As an implementer of the workflow DSL
  I want to ensure that HTTP calls send the request and shape the output as the DSL describes
  So that my implementation conforms to the expected behavior

  # petstore.swagger.io and httpbin.org are answered by the local stand-in
  # (tests/support/standin.rs), reached through the HTTP client's host map.

  # The endpoint URI is a URI template expanded with the task input's top-level properties.
  Scenario: GET with a URI template endpoint
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: http-uri-template, version: '1.0.0'}
    do:
      - getPet:
          call: http
          with:
            method: get
            endpoint:
              uri: https://petstore.swagger.io/v2/pet/{petId}
    """
    And given the workflow input is:
    """yaml
    petId: 3
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    id: 3
    name: Idefix
    status: available
    photoUrls: []
    """

  # The endpoint may be written as a bare URI template string.
  Scenario: GET with a string endpoint
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: http-string-endpoint, version: '1.0.0'}
    do:
      - getPet:
          call: http
          with:
            method: get
            endpoint: https://petstore.swagger.io/v2/pet/{petId}
          output:
            as: .name
    """
    And given the workflow input is:
    """yaml
    petId: 2
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    Rantanplan
    """

  # dsl-reference.md, URI Template: "{pet.id} will be replaced with the value of the "pet.id"
  # property, not the value of the id property of the pet property".
  Scenario: URI template identifiers are top-level property names taken verbatim
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: http-uri-template-verbatim, version: '1.0.0'}
    do:
      - getPet:
          call: http
          with:
            method: get
            endpoint: https://petstore.swagger.io/v2/pet/{pet.id}
          output:
            as: .name
    """
    And given the workflow input is:
    """yaml
    pet.id: 4
    pet:
      id: 1
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    Garfield
    """

  # URI Template: "If no value is found for the identifier, an empty string will be used."
  Scenario: URI template variable without a value expands to an empty string
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: http-uri-template-missing, version: '1.0.0'}
    do:
      - echo:
          call: http
          with:
            method: get
            endpoint: https://httpbin.org/anything/a{missing}b{nothing}c
          output:
            as: .path
    """
    And given the workflow input is:
    """yaml
    nothing: null
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    /anything/abc
    """

  # Strings, numbers and booleans are substituted; reserved characters are percent-encoded.
  Scenario: URI template with string, number and boolean values
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: http-uri-template-scalars, version: '1.0.0'}
    do:
      - echo:
          call: http
          with:
            method: get
            endpoint: https://httpbin.org/anything/{text}/{number}/{flag}
          output:
            as: .path
    """
    And given the workflow input is:
    """yaml
    text: a b/c
    number: 2.5
    flag: true
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    /anything/a%20b%2Fc/2.5/true
    """

  # The endpoint URI may be a runtime expression.
  Scenario: Endpoint URI as a runtime expression
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: http-uri-expression, version: '1.0.0'}
    do:
      - getPet:
          call: http
          with:
            method: get
            endpoint:
              uri: ${ "https://petstore.swagger.io/v2/pet/\(.pets[0])" }
          output:
            as: .name
    """
    And given the workflow input is:
    """yaml
    pets: [ 1, 2 ]
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    Milou
    """

  # query parameters are appended to the URI.
  Scenario: GET with query parameters
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: http-query, version: '1.0.0'}
    do:
      - findPets:
          call: http
          with:
            method: get
            endpoint: https://petstore.swagger.io/v2/pet/findByStatus
            query:
              status: ${ .wanted }
          output:
            as: map(.name)
    """
    And given the workflow input is:
    """yaml
    wanted: available
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    [ Milou, Idefix ]
    """

  # Headers and query values may be expressions; the echo shows what was sent.
  Scenario: Headers and query sent with the request
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: http-headers-query, version: '1.0.0'}
    do:
      - echo:
          call: http
          with:
            method: get
            endpoint: https://httpbin.org/anything
            headers:
              X-Request-Id: ${ .requestId }
              X-Static: fixed
            query:
              page: ${ .page }
              sort: name
    """
    And given the workflow input is:
    """yaml
    requestId: req-7
    page: 2
    """
    When the workflow is executed
    Then the workflow should complete
    And the workflow output should have a 'method' property with value:
    """yaml
    GET
    """
    And the workflow output should have a 'headers.x-request-id' property with value:
    """yaml
    req-7
    """
    And the workflow output should have a 'headers.x-static' property with value:
    """yaml
    fixed
    """
    And the workflow output should have a 'args' property with value:
    """yaml
    page: '2'
    sort: name
    """

  # A JSON body with expressions is sent as application/json.
  Scenario: POST with a JSON body
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: http-post-json, version: '1.0.0'}
    do:
      - addPet:
          call: http
          with:
            method: post
            endpoint: https://petstore.swagger.io/v2/pet
            body:
              name: ${ .name }
              status: available
              photoUrls: []
    """
    And given the workflow input is:
    """yaml
    name: Snowy
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    id: 10
    name: Snowy
    status: available
    photoUrls: []
    """

  # The echo shows the method, the JSON body and its content type.
  Scenario: PUT with a JSON body echoed
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: http-put-echo, version: '1.0.0'}
    do:
      - update:
          call: http
          with:
            method: put
            endpoint: https://httpbin.org/anything/items/{id}
            body:
              id: ${ .id }
              tags: ${ .tags }
          output:
            as:
              method: ${ .method }
              path: ${ .path }
              json: ${ .json }
              contentType: ${ .headers["content-type"] }
    """
    And given the workflow input is:
    """yaml
    id: 5
    tags: [ a, b ]
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    method: PUT
    path: /anything/items/5
    json:
      id: 5
      tags: [ a, b ]
    contentType: application/json
    """

  # A form body is sent form-encoded when the Content-Type header asks for it.
  Scenario: POST with a form body
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: http-post-form, version: '1.0.0'}
    do:
      - submit:
          call: http
          with:
            method: post
            endpoint: https://httpbin.org/anything
            headers:
              Content-Type: application/x-www-form-urlencoded
            body:
              name: Ada
              age: 36
          output:
            as: .form
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    name: Ada
    age: '36'
    """

  # output: response gives the HTTP response object.
  Scenario: Response output
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: http-output-response, version: '1.0.0'}
    do:
      - getPet:
          call: http
          with:
            method: get
            endpoint: https://petstore.swagger.io/v2/pet/{petId}
            output: response
    """
    And given the workflow input is:
    """yaml
    petId: 1
    """
    When the workflow is executed
    Then the workflow should complete
    And the workflow output should have properties 'request', 'request.method', 'request.uri', 'statusCode', 'headers', 'content'
    And the workflow output should have a 'statusCode' property with value:
    """yaml
    200
    """
    And the workflow output should have a 'request.method' property with value:
    """yaml
    get
    """
    And the workflow output should have a 'request.uri' property with value:
    """yaml
    https://petstore.swagger.io/v2/pet/1
    """
    And the workflow output should have a 'headers.content-type' property with value:
    """yaml
    application/json
    """
    And the workflow output should have a 'content' property with value:
    """yaml
    id: 1
    name: Milou
    status: available
    photoUrls: []
    """

  # output: raw gives the response content base64-encoded.
  Scenario: Raw output
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: http-output-raw, version: '1.0.0'}
    do:
      - getRobots:
          call: http
          with:
            method: get
            endpoint: https://httpbin.org/robots.txt
            output: raw
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    VXNlci1hZ2VudDogKgpEaXNhbGxvdzogL2RlbnkK
    """

  # output: content (the default) gives a text body as a string.
  Scenario: Text content output
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: http-output-text, version: '1.0.0'}
    do:
      - getRobots:
          call: http
          with:
            method: get
            endpoint: https://httpbin.org/robots.txt
            output: content
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    "User-agent: *\nDisallow: /deny\n"
    """

  # HTTP Response, content: bodies that are not of a deserializable type are base64-encoded.
  Scenario: Binary content output is base64-encoded
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: http-output-binary, version: '1.0.0'}
    do:
      - getBytes:
          call: http
          with:
            method: get
            endpoint: https://httpbin.org/bytes/4
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    AAECAw==
    """

  # A status outside 200-299 raises a communication error with that status.
  Scenario: Not found raises a communication error
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: http-404, version: '1.0.0'}
    do:
      - getPet:
          call: http
          with:
            method: get
            endpoint: https://petstore.swagger.io/v2/pet/{petId}
    """
    And given the workflow input is:
    """yaml
    petId: 999
    """
    When the workflow is executed
    Then the workflow should fault with error:
    """yaml
    type: https://serverlessworkflow.io/spec/1.0.0/errors/communication
    status: 404
    title: Not Found
    instance: /do/0/getPet
    """
    And getPet should fault

  # A server error status is reported as is.
  Scenario: Server error raises a communication error
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: http-500, version: '1.0.0'}
    do:
      - prepare:
          set: ${ . }
      - callIt:
          call: http
          with:
            method: post
            endpoint: https://httpbin.org/status/500
    """
    When the workflow is executed
    Then the workflow should fault with error:
    """yaml
    type: https://serverlessworkflow.io/spec/1.0.0/errors/communication
    status: 500
    instance: /do/1/callIt
    """

  # redirect false (the default): a 3xx status is an error.
  Scenario: Redirect status is an error by default
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: http-redirect-error, version: '1.0.0'}
    do:
      - moved:
          call: http
          with:
            method: get
            endpoint: https://httpbin.org/status/302
    """
    When the workflow is executed
    Then the workflow should fault with error:
    """yaml
    type: https://serverlessworkflow.io/spec/1.0.0/errors/communication
    status: 302
    instance: /do/0/moved
    """

  # redirect true: a 3xx status is accepted.
  Scenario: Redirect status accepted with redirect true
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: http-redirect-accepted, version: '1.0.0'}
    do:
      - moved:
          call: http
          with:
            method: get
            endpoint: https://httpbin.org/status/302
            redirect: true
            output: response
    """
    When the workflow is executed
    Then the workflow should complete
    And the workflow output should have a 'statusCode' property with value:
    """yaml
    302
    """

  # redirect true still rejects statuses outside 200-399.
  Scenario: Client error status is an error even with redirect true
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: http-redirect-400, version: '1.0.0'}
    do:
      - bad:
          call: http
          with:
            method: get
            endpoint: https://httpbin.org/status/400
            redirect: true
    """
    When the workflow is executed
    Then the workflow should fault with error:
    """yaml
    type: https://serverlessworkflow.io/spec/1.0.0/errors/communication
    status: 400
    instance: /do/0/bad
    """

  # Basic authentication on the endpoint.
  Scenario: Basic authentication
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: http-basic, version: '1.0.0'}
    do:
      - login:
          call: http
          with:
            method: get
            endpoint:
              uri: https://httpbin.org/basic-auth/{user}/{passwd}
              authentication:
                basic:
                  username: ${ .user }
                  password: ${ .passwd }
    """
    And given the workflow input is:
    """yaml
    user: alice
    passwd: wonderland
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    authenticated: true
    user: alice
    """

  # Basic authentication from use.authentications.
  Scenario: Basic authentication from a reusable policy
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: http-basic-named, version: '1.0.0'}
    use:
      authentications:
        alice:
          basic:
            username: alice
            password: wonderland
    do:
      - login:
          call: http
          with:
            method: get
            endpoint:
              uri: https://httpbin.org/basic-auth/alice/wonderland
              authentication:
                use: alice
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    authenticated: true
    user: alice
    """

  # Wrong credentials: the server's 401 is a communication error with status 401.
  Scenario: Basic authentication with wrong credentials
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: http-basic-wrong, version: '1.0.0'}
    do:
      - login:
          call: http
          with:
            method: get
            endpoint:
              uri: https://httpbin.org/basic-auth/alice/wonderland
              authentication:
                basic:
                  username: alice
                  password: wrong
    """
    When the workflow is executed
    Then the workflow should fault with error:
    """yaml
    type: https://serverlessworkflow.io/spec/1.0.0/errors/communication
    status: 401
    instance: /do/0/login
    """

  # Bearer authentication with a token from the input.
  Scenario: Bearer authentication
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: http-bearer, version: '1.0.0'}
    do:
      - callApi:
          call: http
          with:
            method: get
            endpoint:
              uri: https://httpbin.org/bearer
              authentication:
                bearer:
                  token: ${ .token }
    """
    And given the workflow input is:
    """yaml
    token: t0k3n
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    authenticated: true
    token: t0k3n
    """

  # $authorization describes the resolved authorization in output.as.
  Scenario: Authorization descriptor after a basic authenticated call
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: http-authorization-descriptor, version: '1.0.0'}
    do:
      - login:
          call: http
          with:
            method: get
            endpoint:
              uri: https://httpbin.org/basic-auth/alice/wonderland
              authentication:
                basic:
                  username: alice
                  password: wonderland
          output:
            as:
              scheme: ${ $authorization.scheme }
              parameter: ${ $authorization.parameter }
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    scheme: Basic
    parameter: YWxpY2U6d29uZGVybGFuZA==
    """

  # The bearer scheme's parameter is the token.
  Scenario: Authorization descriptor after a bearer authenticated call
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: http-authorization-bearer, version: '1.0.0'}
    do:
      - callApi:
          call: http
          with:
            method: get
            endpoint:
              uri: https://httpbin.org/bearer
              authentication:
                bearer:
                  token: abc
          output:
            as:
              scheme: ${ $authorization.scheme }
              parameter: ${ $authorization.parameter }
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    scheme: Bearer
    parameter: abc
    """

  # DELETE with a header.
  Scenario: DELETE with a header
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: http-delete, version: '1.0.0'}
    do:
      - deletePet:
          call: http
          with:
            method: delete
            endpoint: https://petstore.swagger.io/v2/pet/{petId}
            headers:
              api_key: special-key
    """
    And given the workflow input is:
    """yaml
    petId: 2
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    code: 200
    type: unknown
    message: '2'
    apiKey: special-key
    """

  # Calls in a loop, one per item.
  Scenario: HTTP calls inside a for loop
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: http-in-for, version: '1.0.0'}
    do:
      - fetchAll:
          for:
            each: petId
            in: .ids
          do:
            - fetch:
                call: http
                with:
                  method: get
                  endpoint:
                    uri: ${ "https://petstore.swagger.io/v2/pet/\($petId)" }
                output:
                  as: '${ $input + { names: ($input.names + [ .name ]) } }'
    """
    And given the workflow input is:
    """yaml
    ids: [ 4, 1 ]
    names: []
    """
    When the workflow is executed
    Then the workflow output should have a 'names' property with value:
    """yaml
    [ Garfield, Milou ]
    """

  # A string body is sent as is, as text.
  Scenario: POST with a text body
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: http-post-text, version: '1.0.0'}
    do:
      - send:
          call: http
          with:
            method: post
            endpoint: https://httpbin.org/anything
            body: ${ "hello \(.name)" }
          output:
            as:
              data: ${ .data }
              contentType: ${ .headers["content-type"] }
    """
    And given the workflow input is:
    """yaml
    name: world
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    data: hello world
    contentType: text/plain; charset=utf-8
    """

  # The call's output.as can combine the response with the task's input.
  Scenario: HTTP output combined with the task input
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: http-output-with-input, version: '1.0.0'}
    do:
      - getPet:
          call: http
          with:
            method: get
            endpoint: https://petstore.swagger.io/v2/pet/{petId}
          output:
            as:
              order: ${ $input.order }
              petName: ${ .name }
    """
    And given the workflow input is:
    """yaml
    petId: 1
    order: 12
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    order: 12
    petName: Milou
    """

  # dsl.md, Supported Protocols: "Runtimes must raise an error with type communication if and
  # when a problem occurs during a call." Nothing listens on 127.0.0.1:1.
  Scenario: Unreachable endpoint raises a communication error
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: http-unreachable, version: '1.0.0'}
    do:
      - callNowhere:
          call: http
          with:
            method: get
            endpoint: http://127.0.0.1:1/nothing
    """
    When the workflow is executed
    Then the workflow should fault with error:
    """yaml
    type: https://serverlessworkflow.io/spec/1.0.0/errors/communication
    instance: /do/0/callNowhere
    """

Feature: Call OpenAPI
  As an implementer of the workflow DSL
  I want to ensure that OpenAPI calls find the operation and lay out its parameters
  So that my implementation conforms to the expected behavior

  # The Swagger 2.0 petstore document and the OpenAPI 3 echo document are served by the local
  # stand-in (tests/support/standin.rs).

  # A query parameter of a Swagger 2.0 operation.
  Scenario: Swagger operation with a query parameter
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: openapi-query, version: '1.0.0'}
    do:
      - findPets:
          call: openapi
          with:
            document:
              endpoint: https://petstore.swagger.io/v2/swagger.json
            operationId: findPetsByStatus
            parameters:
              status: ${ .status }
          output:
            as: map(.name)
    """
    And given the workflow input is:
    """yaml
    status: available
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    [ Milou, Idefix ]
    """

  # An array argument of a `multi` query parameter selects several values.
  Scenario: Swagger operation with an array query parameter
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: openapi-query-array, version: '1.0.0'}
    do:
      - findPets:
          call: openapi
          with:
            document:
              endpoint:
                uri: https://petstore.swagger.io/v2/swagger.json
            operationId: findPetsByStatus
            parameters:
              status: [ pending, sold ]
          output:
            as: map(.name)
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    [ Rantanplan, Garfield ]
    """

  # A path parameter, with the response output.
  Scenario: Swagger operation with a path parameter and response output
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: openapi-path-response, version: '1.0.0'}
    do:
      - getPet:
          call: openapi
          with:
            document:
              endpoint: https://petstore.swagger.io/v2/swagger.json
            operationId: getPetById
            parameters:
              petId: ${ .id }
            output: response
    """
    And given the workflow input is:
    """yaml
    id: 3
    """
    When the workflow is executed
    Then the workflow should complete
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
    https://petstore.swagger.io/v2/pet/3
    """
    And the workflow output should have a 'content.name' property with value:
    """yaml
    Idefix
    """

  # The operation's error status is a communication error.
  Scenario: Swagger operation answering 404
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: openapi-404, version: '1.0.0'}
    do:
      - getPet:
          call: openapi
          with:
            document:
              endpoint: https://petstore.swagger.io/v2/swagger.json
            operationId: getPetById
            parameters:
              petId: 999
    """
    When the workflow is executed
    Then the workflow should fault with error:
    """yaml
    type: https://serverlessworkflow.io/spec/1.0.0/errors/communication
    status: 404
    instance: /do/0/getPet
    """

  # A body parameter is sent as the JSON body.
  Scenario: Swagger operation with a body parameter
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: openapi-body, version: '1.0.0'}
    do:
      - addPet:
          call: openapi
          with:
            document:
              endpoint: https://petstore.swagger.io/v2/swagger.json
            operationId: addPet
            parameters:
              body:
                name: ${ .name }
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
    photoUrls: []
    """

  # A header parameter goes in the headers.
  Scenario: Swagger operation with a header parameter
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: openapi-header, version: '1.0.0'}
    do:
      - deletePet:
          call: openapi
          with:
            document:
              endpoint: https://petstore.swagger.io/v2/swagger.json
            operationId: deletePet
            parameters:
              petId: 4
              api_key: secret-key
          output:
            as:
              deleted: ${ .message }
              apiKey: ${ .apiKey }
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    deleted: '4'
    apiKey: secret-key
    """

  # OpenAPI 3: path, query, header and body parameters, echoed by the server.
  Scenario: OpenAPI 3 operation with every parameter location
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: openapi-3-echo, version: '1.0.0'}
    do:
      - echo:
          call: openapi
          with:
            document:
              endpoint: https://httpbin.org/openapi.yaml
            operationId: echoItem
            parameters:
              itemId: ${ .id }
              tags: [ x, y ]
              X-Trace: trace-1
              body:
                quantity: ${ .quantity }
          output:
            as:
              method: ${ .method }
              path: ${ .path }
              tags: ${ .args.tags }
              trace: ${ .headers["x-trace"] }
              json: ${ .json }
    """
    And given the workflow input is:
    """yaml
    id: item-9
    quantity: 3
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    method: POST
    path: /anything/items/item-9
    tags: [ x, y ]
    trace: trace-1
    json:
      quantity: 3
    """

  # OpenAPI 3: a non-exploded array query parameter is comma separated.
  Scenario: OpenAPI 3 operation with a non-exploded array parameter
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: openapi-3-csv, version: '1.0.0'}
    do:
      - getItem:
          call: openapi
          with:
            document:
              endpoint: https://httpbin.org/openapi.yaml
            operationId: getItem
            parameters:
              itemId: '1'
              fields: [ a, b ]
          output:
            as: .args
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    fields: a,b
    """

  # An operationId the document does not define is a configuration error.
  Scenario: Unknown operation
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: openapi-unknown-operation, version: '1.0.0'}
    do:
      - callIt:
          call: openapi
          with:
            document:
              endpoint: https://petstore.swagger.io/v2/swagger.json
            operationId: doesNotExist
    """
    When the workflow is executed
    Then the workflow should fault with error:
    """yaml
    type: https://serverlessworkflow.io/spec/1.0.0/errors/configuration
    status: 400
    instance: /do/0/callIt
    """

  # A missing required parameter is a configuration error.
  Scenario: Missing required parameter
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: openapi-missing-parameter, version: '1.0.0'}
    do:
      - getPet:
          call: openapi
          with:
            document:
              endpoint: https://petstore.swagger.io/v2/swagger.json
            operationId: getPetById
            parameters: {}
    """
    When the workflow is executed
    Then the workflow should fault with error:
    """yaml
    type: https://serverlessworkflow.io/spec/1.0.0/errors/configuration
    status: 400
    instance: /do/0/getPet
    """

  # output: raw gives the base64-encoded body, here decoded back by output.as.
  Scenario: OpenAPI raw output
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: openapi-raw, version: '1.0.0'}
    do:
      - getPet:
          call: openapi
          with:
            document:
              endpoint: https://petstore.swagger.io/v2/swagger.json
            operationId: getPetById
            parameters:
              petId: 1
            output: raw
          output:
            as: ${ @base64d | fromjson | .name }
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    Milou
    """

  # An OpenAPI call's errors can be caught.
  Scenario: OpenAPI error caught by a try
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: openapi-caught, version: '1.0.0'}
    do:
      - lookup:
          try:
            - getPet:
                call: openapi
                with:
                  document:
                    endpoint: https://petstore.swagger.io/v2/swagger.json
                  operationId: getPetById
                  parameters:
                    petId: ${ .id }
          catch:
            errors:
              with:
                status: 404
            do:
              - notFound:
                  set:
                    found: false
                    id: ${ .id }
    """
    And given the workflow input is:
    """yaml
    id: 77
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    found: false
    id: 77
    """

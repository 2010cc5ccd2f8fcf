Feature: Call HTTP (regressions)
  As an implementer of the workflow DSL
  I want to ensure that HTTP calls send the request and shape the output as the DSL describes
  So that my implementation conforms to the expected behavior

  # Regression (fixed). dsl-reference.md, URI Template: "The referenced variable must be of type `string`,
  # `number`, `boolean`, or `null`. If the variable is of a different type an error with type
  # `https://https://serverlessworkflow.io/spec/1.0.0/errors/expression` and status `400` will
  # be raised." (the doubled scheme is a typo of the spec; the standard type is meant).
  # nagare expands an array as an RFC 6570 list (`/anything/1,2`) and calls the endpoint.
  Scenario: URI template variable holding an array raises an expression error
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: http-uri-template-array, version: '1.0.0'}
    do:
      - echo:
          call: http
          with:
            method: get
            endpoint: https://httpbin.org/anything/{ids}
    """
    And given the workflow input is:
    """yaml
    ids: [ 1, 2 ]
    """
    When the workflow is executed
    Then the workflow should fault with error:
    """yaml
    type: https://serverlessworkflow.io/spec/1.0.0/errors/expression
    status: 400
    instance: /do/0/echo
    """

  # Regression (fixed). Same rule for an object variable: nagare expands it as an RFC 6570 associative array
  # (`/anything/id,1`).
  Scenario: URI template variable holding an object raises an expression error
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: http-uri-template-object, version: '1.0.0'}
    do:
      - echo:
          call: http
          with:
            method: get
            endpoint: https://httpbin.org/anything/{pet}
    """
    And given the workflow input is:
    """yaml
    pet:
      id: 1
    """
    When the workflow is executed
    Then the workflow should fault with error:
    """yaml
    type: https://serverlessworkflow.io/spec/1.0.0/errors/expression
    status: 400
    instance: /do/0/echo
    """
